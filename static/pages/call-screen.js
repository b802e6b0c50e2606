// The call screen: an Agora token from our API, the Agora Web SDK from AGORA_SDK_URL, local and
// remote video tiles, mute / camera / leave, token renewal, and plain words when anything is missing.
// Nothing runs on import: the call page (call.js) calls startCallScreen.

import { api } from "./api.js";
import { formatDuration, meetingAction } from "./meetings.js";
import { EVENT } from "./protocol.js";

const SDK_LOAD_TIMEOUT_MS = 20000;

function loadSdk(url) {
  return new Promise((resolve, reject) => {
    if (window.AgoraRTC) {
      resolve(window.AgoraRTC);
      return;
    }
    const script = document.createElement("script");
    const timer = setTimeout(() => reject(new Error("it took too long to load")), SDK_LOAD_TIMEOUT_MS);
    script.src = url;
    script.async = true;
    script.addEventListener("load", () => {
      clearTimeout(timer);
      if (window.AgoraRTC) resolve(window.AgoraRTC);
      else reject(new Error("the script did not provide AgoraRTC"));
    });
    script.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error("the script could not be fetched"));
    });
    document.head.append(script);
  });
}

class CallScreen {
  // config is the page's call-config: {meeting, sdkUrl, namesByUid}.
  constructor({ config, socket }) {
    this.config = config;
    this.meeting = config.meeting;
    this.socket = socket;
    this.el = {
      notice: document.getElementById("call-notice"),
      status: document.getElementById("call-status"),
      stage: document.getElementById("call-stage"),
      localVideo: document.querySelector("#local-tile .video"),
      mic: document.getElementById("toggle-mic"),
      camera: document.getElementById("toggle-camera"),
      leave: document.getElementById("leave-call"),
      end: document.getElementById("end-meeting"),
    };
    this.client = null;
    this.mic = null;
    this.camera = null;
    this.joined = false;
    this.over = false;
  }

  bind() {
    const { el, meeting, socket } = this;
    socket.onOpen(() => {
      if (this.joined) socket.send(EVENT.MEETING_JOINED, { meetingId: meeting.id });
    });
    socket.on(EVENT.MEETING_ENDED, (ended) => {
      if (ended.id === meeting.id) this.finish(`The meeting has ended. It lasted ${formatDuration(ended.durationSeconds)}.`);
    });
    el.mic.addEventListener("click", () => this.toggle(this.mic, el.mic, ["Mute", "Unmute"]));
    el.camera.addEventListener("click", () => this.toggle(this.camera, el.camera, ["Turn camera off", "Turn camera on"]));
    el.leave.addEventListener("click", async () => {
      await this.hangUp();
      location.assign(`/projects/${meeting.projectId}`);
    });
    if (el.end) {
      el.end.addEventListener("click", async () => {
        el.end.disabled = true;
        try {
          await meetingAction(meeting.id, "end");
        } catch (failure) {
          this.warn(failure.message);
          el.end.disabled = false;
        }
      });
    }
    window.addEventListener("pagehide", () => this.hangUp());
  }

  say(text) {
    this.el.status.textContent = text;
  }

  warn(text) {
    this.el.notice.textContent = text;
    this.el.notice.hidden = false;
  }

  fetchToken() {
    return api(`/api/meetings/${this.meeting.id}/token`);
  }

  async start() {
    let credentials;
    try {
      credentials = await this.fetchToken();
    } catch (failure) {
      this.fail(failure.message);
      return;
    }
    let AgoraRTC;
    try {
      AgoraRTC = await loadSdk(this.config.sdkUrl);
    } catch (failure) {
      this.fail(`The video SDK could not be loaded from ${this.config.sdkUrl}: ${failure.message}. ` +
        "Check your network connection (or the server's AGORA_SDK_URL setting) and reload the page.");
      return;
    }
    this.client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
    this.bindClient();
    try {
      await this.client.join(credentials.appId, credentials.channelName, credentials.token, credentials.uid);
    } catch (failure) {
      this.fail(`Could not join the call: ${failure.message}`);
      return;
    }
    this.joined = true;
    this.socket.send(EVENT.MEETING_JOINED, { meetingId: this.meeting.id });
    await this.publishLocal(AgoraRTC);
    this.say("You are in the call.");
  }

  bindClient() {
    this.client.on("user-joined", (user) => this.tileFor(user.uid));
    this.client.on("user-published", async (user, mediaType) => {
      await this.client.subscribe(user, mediaType);
      if (mediaType === "video") user.videoTrack.play(this.tileFor(user.uid).querySelector(".video"));
      if (mediaType === "audio") user.audioTrack.play();
    });
    this.client.on("user-left", (user) => this.removeTile(user.uid));
    // The SDK warns about 30 s before the privilege runs out; a fresh token from our API renews it.
    this.client.on("token-privilege-will-expire", () => this.renew());
    this.client.on("token-privilege-did-expire", () => this.fail("Your access to the call expired. Reload the page to join again."));
  }

  async renew() {
    try {
      const fresh = await this.fetchToken();
      await this.client.renewToken(fresh.token);
    } catch (failure) {
      this.warn(`Could not renew access to the call: ${failure.message}`);
    }
  }

  async publishLocal(AgoraRTC) {
    try {
      [this.mic, this.camera] = await AgoraRTC.createMicrophoneAndCameraTracks();
    } catch (failure) {
      this.warn(`Your camera or microphone is not available (${failure.message}); you can still see and hear the others.`);
      return;
    }
    this.camera.play(this.el.localVideo);
    await this.client.publish([this.mic, this.camera]);
    this.el.mic.disabled = false;
    this.el.camera.disabled = false;
  }

  async toggle(track, control, [onLabel, offLabel]) {
    if (!track) return;
    const muting = control.getAttribute("aria-pressed") !== "true";
    await track.setMuted(muting);
    control.setAttribute("aria-pressed", String(muting));
    control.textContent = muting ? offLabel : onLabel;
  }

  tileFor(uid) {
    let tile = this.el.stage.querySelector(`.tile.remote[data-uid="${uid}"]`);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = "tile remote";
      tile.dataset.uid = uid;
      const caption = document.createElement("figcaption");
      caption.className = "label";
      caption.textContent = this.config.namesByUid[uid] || `Guest ${uid}`;
      const video = document.createElement("div");
      video.className = "video";
      tile.append(video, caption);
      this.el.stage.append(tile);
    }
    return tile;
  }

  removeTile(uid) {
    const tile = this.el.stage.querySelector(`.tile.remote[data-uid="${uid}"]`);
    if (tile) tile.remove();
  }

  async hangUp() {
    if (!this.joined) return;
    this.joined = false;
    for (const track of [this.mic, this.camera]) if (track) track.close();
    this.socket.send(EVENT.MEETING_LEFT, { meetingId: this.meeting.id });
    await this.client.leave();
  }

  async finish(text) {
    if (this.over) return;
    this.over = true;
    await this.hangUp();
    this.el.stage.replaceChildren();
    this.fail(text);
  }

  fail(text) {
    const { el } = this;
    this.warn(text);
    el.status.hidden = true;
    for (const control of [el.mic, el.camera, el.end]) if (control) control.disabled = true;
    el.leave.textContent = "Back to the project";
  }
}

// Binds the screen to the page and the socket, then joins the call; the caller connects the socket.
export function startCallScreen({ config, socket }) {
  const screen = new CallScreen({ config, socket });
  screen.bind();
  screen.start();
  return screen;
}
