// A stand-in for the Agora Web SDK (agora-rtc-sdk-ng), served at AGORA_SDK_URL by the browser test:
// the real one needs the internet and Agora's servers. It implements the calls the call screen
// makes, records them on window.fakeAgora, and lets the test raise the SDK's events.
(() => {
  const calls = { join: [], renewToken: [], publish: 0, leave: 0 };
  const handlers = {};
  const emit = (event, ...args) => (handlers[event] || []).forEach((handler) => handler(...args));

  function videoTrack(label) {
    return {
      muted: false,
      play(element) {
        const picture = document.createElement("div");
        picture.className = "fake-video";
        picture.textContent = label;
        element.append(picture);
      },
      async setMuted(muted) { this.muted = muted; },
      close() { this.closed = true; },
    };
  }

  const microphone = { muted: false, async setMuted(muted) { this.muted = muted; }, close() { this.closed = true; } };
  const camera = videoTrack("local camera");

  const client = {
    on(event, handler) { (handlers[event] = handlers[event] || []).push(handler); },
    async join(appId, channel, token, uid) { calls.join.push({ appId, channel, token, uid }); return uid; },
    async publish() { calls.publish += 1; },
    async subscribe() {},
    async renewToken(token) { calls.renewToken.push(token); },
    async leave() { calls.leave += 1; },
  };

  window.AgoraRTC = {
    createClient: () => client,
    createMicrophoneAndCameraTracks: async () => [microphone, camera],
  };
  window.fakeAgora = {
    calls,
    microphone,
    camera,
    emit,
    remoteVideo(uid) {
      const user = { uid, videoTrack: videoTrack(`remote ${uid}`) };
      emit("user-joined", user);
      emit("user-published", user, "video");
    },
  };
})();
