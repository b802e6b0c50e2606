// Meetings in the pages: the ring an invitee hears (meeting:invite, with Accept / Decline) and the
// project page's meetings panel (schedule, start now, answers arriving live, start / end, durations).

import { api } from "./api.js";
import { button, element } from "./dom.js";
import { EVENT } from "./protocol.js";

const RING_TITLE_PREFIX = "📞 ";

export function formatDuration(totalSeconds) {
  if (totalSeconds < 1) return "under a second";
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  if (minutes) return `${minutes} min ${String(seconds).padStart(2, "0")} s`;
  return `${seconds} s`;
}

function formatWhen(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// start, end, cancel (the host) and accept, decline (an invitee): each answers with the meeting.
export function meetingAction(meetingId, action) {
  return api(`/api/meetings/${meetingId}/${action}`, { method: "PATCH" });
}

function myParticipation(meeting, me) {
  return meeting.participants.find((participant) => participant.user.id === me.id);
}

// The incoming-call panel. It exists (empty) from page load, so screen readers announce the ring.
export class Ringer {
  constructor({ socket, me, onAnswered = () => {} }) {
    this.me = me;
    this.onAnswered = onAnswered;
    this.ringing = new Map(); // meetingId -> meeting
    this.pageTitle = document.title;
    this.announcer = element("p", "visually-hidden");
    this.announcer.setAttribute("aria-live", "assertive");
    this.panel = element("section", "ring");
    this.panel.id = "ring";
    this.panel.hidden = true;
    this.panel.setAttribute("aria-labelledby", "ring-title");
    document.body.append(this.announcer, this.panel);
    socket.on(EVENT.MEETING_INVITE, (meeting) => this.ring(meeting));
    for (const event of [EVENT.MEETING_ENDED, EVENT.MEETING_CANCELLED]) socket.on(event, (meeting) => this.stop(meeting.id));
    for (const event of [EVENT.MEETING_ACCEPT, EVENT.MEETING_DECLINE]) {
      socket.on(event, (answer) => {
        if (answer.user.id === this.me.id) this.stop(answer.meetingId); // answered in another tab
      });
    }
  }

  ring(meeting) {
    const mine = myParticipation(meeting, this.me);
    if (!mine || mine.isHost || mine.status !== "invited") return;
    this.ringing.set(meeting.id, meeting);
    this.render();
  }

  stop(meetingId) {
    if (!this.ringing.delete(meetingId)) return;
    this.render();
  }

  render() {
    const [meeting] = this.ringing.values();
    this.panel.replaceChildren();
    if (!meeting) {
      this.panel.hidden = true;
      this.panel.classList.remove("ringing");
      this.announcer.textContent = "";
      document.title = this.pageTitle;
      return;
    }
    const live = meeting.status === "ACTIVE";
    const heading = element("h2", "", live ? `${meeting.host.username} is calling` : `${meeting.host.username} invites you to a meeting`);
    heading.id = "ring-title";
    const details = live
      ? `${meeting.title} · ${meeting.projectTitle}`
      : `${meeting.title} · ${meeting.projectTitle}${meeting.scheduledFor ? ` · ${formatWhen(meeting.scheduledFor)}` : ""}`;
    const error = element("p", "error small");
    error.setAttribute("role", "alert");
    const actions = element("div", "actions");
    actions.append(
      button("Accept", "accept", () => this.answer(meeting, "accept", error)),
      button("Decline", "decline", () => this.answer(meeting, "decline", error)),
    );
    this.panel.append(heading, element("p", "", details), actions, error);
    this.panel.dataset.meetingId = meeting.id;
    this.panel.classList.toggle("ringing", live);
    this.panel.hidden = false;
    this.announcer.textContent = `${heading.textContent}: ${details}`;
    document.title = RING_TITLE_PREFIX + this.pageTitle;
  }

  async answer(meeting, answer, error) {
    try {
      const answered = await meetingAction(meeting.id, answer);
      this.stop(meeting.id);
      this.onAnswered(answered, answer);
    } catch (failure) {
      error.textContent = failure.message;
      if (failure.status === 409 || failure.status === 404) setTimeout(() => this.stop(meeting.id), 4000);
    }
  }
}

const STATUS_LABEL = { PENDING: "Scheduled", ACTIVE: "Live", COMPLETED: "Completed", CANCELLED: "Cancelled" };

// The project page's list of meetings, kept current by the socket's meeting:* events.
export class MeetingsPanel {
  constructor({ config, socket }) {
    this.me = config.me;
    this.projectId = config.projectId;
    this.instantTitle = `Call about ${config.projectTitle}`.slice(0, 200);
    this.meetings = new Map(config.meetings.map((meeting) => [meeting.id, meeting]));
    this.list = document.getElementById("meetings");
    this.empty = document.getElementById("no-meetings");
    this.error = document.getElementById("meetings-error");
    const meetingEvents = [EVENT.MEETING_INVITE, EVENT.MEETING_RESCHEDULED, EVENT.MEETING_STARTED, EVENT.MEETING_ENDED, EVENT.MEETING_CANCELLED];
    for (const event of meetingEvents) {
      socket.on(event, (meeting) => this.upsert(meeting));
    }
    for (const event of [EVENT.MEETING_ACCEPT, EVENT.MEETING_DECLINE]) socket.on(event, (answer) => this.onAnswer(answer));
    // Events missed while the socket was down are recovered by reading the list again.
    let connectedBefore = false;
    socket.onOpen(() => {
      if (connectedBefore) this.refresh();
      connectedBefore = true;
    });
    this.bindForms();
    this.render();
  }

  bindForms() {
    const instant = document.getElementById("start-instant");
    if (instant) instant.addEventListener("click", () => this.create({ title: this.instantTitle, instant: true }, instant));
    const form = document.getElementById("schedule-form");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const when = new Date(form.elements.scheduledFor.value);
      if (Number.isNaN(when.getTime())) {
        this.showError("Pick a date and time for the meeting.");
        return;
      }
      this.create({ title: form.elements.title.value, scheduledFor: when.toISOString() }, form.querySelector("button")).then((ok) => {
        if (ok) form.reset();
      });
    });
  }

  async create(fields, control) {
    this.showError("");
    control.disabled = true;
    try {
      this.upsert(await api("/api/meetings", { method: "POST", json: { projectId: this.projectId, ...fields } }));
      return true;
    } catch (failure) {
      this.showError(failure.message);
      return false;
    } finally {
      control.disabled = false;
    }
  }

  async refresh() {
    try {
      const page = await api(`/api/meetings/me?projectId=${this.projectId}`);
      page.results.forEach((meeting) => this.upsert(meeting));
    } catch {
      // the next reconnect tries again
    }
  }

  upsert(meeting) {
    if (meeting.projectId !== this.projectId) return;
    this.meetings.set(meeting.id, meeting);
    this.render();
  }

  onAnswer(answer) {
    const meeting = this.meetings.get(answer.meetingId);
    if (!meeting) return;
    const participant = meeting.participants.find((p) => p.user.id === answer.user.id);
    if (!participant) return;
    participant.status = answer.status;
    participant.answeredAt = answer.answeredAt;
    this.render();
  }

  async transition(meeting, action) {
    this.showError("");
    try {
      this.upsert(await meetingAction(meeting.id, action));
    } catch (failure) {
      this.showError(failure.message);
    }
  }

  // Live first, then scheduled (soonest first), then past ones (latest first): as GET /api/meetings/me.
  ordered() {
    const phase = { ACTIVE: 0, PENDING: 1 };
    const upcomingAt = (m) => Date.parse(m.startedAt || m.scheduledFor || "9999-12-31");
    const pastAt = (m) => Date.parse(m.endedAt || m.scheduledFor || m.createdAt);
    return [...this.meetings.values()].sort((a, b) => {
      const byPhase = (phase[a.status] ?? 2) - (phase[b.status] ?? 2);
      if (byPhase) return byPhase;
      return a.status in phase ? upcomingAt(a) - upcomingAt(b) : pastAt(b) - pastAt(a);
    });
  }

  render() {
    this.list.replaceChildren(...this.ordered().map((meeting) => this.renderMeeting(meeting)));
    this.empty.hidden = this.meetings.size > 0;
  }

  renderMeeting(meeting) {
    const item = element("li", "meeting");
    item.dataset.meetingId = meeting.id;
    item.dataset.status = meeting.status;
    const head = element("div");
    head.append(element("span", "meeting-title", meeting.title), " ",
      element("span", `status status-${meeting.status.toLowerCase()}`, STATUS_LABEL[meeting.status] || meeting.status));
    item.append(head, this.renderWhen(meeting), this.renderAnswers(meeting), this.renderActions(meeting));
    return item;
  }

  renderWhen(meeting) {
    const when = element("p", "when muted small");
    if (meeting.status === "COMPLETED") {
      const duration = element("span", "duration", `Lasted ${formatDuration(meeting.durationSeconds)}`);
      duration.dataset.seconds = meeting.durationSeconds;
      when.append(duration, ` · ended ${formatWhen(meeting.endedAt)}`);
    } else if (meeting.status === "ACTIVE") {
      when.textContent = `Started ${formatWhen(meeting.startedAt)}`;
    } else if (meeting.status === "PENDING") {
      when.textContent = meeting.scheduledFor ? `Scheduled for ${formatWhen(meeting.scheduledFor)}` : "Not scheduled yet";
    } else {
      when.textContent = "Cancelled before it started";
    }
    return when;
  }

  renderAnswers(meeting) {
    const answers = element("ul", "answers");
    for (const participant of meeting.participants) {
      const who = participant.user.id === this.me.id ? "You" : participant.user.username;
      const state = participant.isHost ? "host" : participant.status;
      const line = element("li", `answer answer-${state}`, `${who} — ${state}`);
      line.dataset.userId = participant.user.id;
      answers.append(line);
    }
    return answers;
  }

  renderActions(meeting) {
    const actions = element("div", "actions");
    const mine = myParticipation(meeting, this.me);
    const open = meeting.status === "PENDING" || meeting.status === "ACTIVE";
    if (meeting.status === "ACTIVE" && mine.status !== "declined") {
      const join = element("a", "button", "Join call");
      join.href = `/meetings/${meeting.id}/call`;
      actions.append(join);
    }
    if (mine.isHost) {
      if (meeting.status === "PENDING") {
        actions.append(button("Start", "", () => this.transition(meeting, "start")));
        actions.append(button("Cancel", "secondary", () => this.transition(meeting, "cancel")));
      } else if (meeting.status === "ACTIVE") {
        actions.append(button("End meeting", "danger", () => this.transition(meeting, "end")));
      }
    } else if (open && mine.status === "invited") {
      actions.append(button("Accept", "", () => this.transition(meeting, "accept")));
      actions.append(button("Decline", "secondary", () => this.transition(meeting, "decline")));
    }
    return actions;
  }

  showError(text) {
    this.error.textContent = text;
  }
}
