// The dashboard: local times, answers to invitations, and the ring for calls arriving meanwhile.

import { meetingAction, Ringer } from "./meetings.js";
import { RealtimeSocket } from "./socket.js";

const config = JSON.parse(document.getElementById("page-config").textContent);

for (const time of document.querySelectorAll("time[data-local]")) {
  time.textContent = new Date(time.dateTime).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// The lists are rendered by the server, so an answer is shown by rendering them again.
const invitations = document.getElementById("invitations");
if (invitations) {
  invitations.addEventListener("click", async (event) => {
    const answer = event.target.closest("button[data-answer]");
    if (!answer) return;
    answer.disabled = true;
    try {
      await meetingAction(answer.closest("li").dataset.meetingId, answer.dataset.answer);
      location.reload();
    } catch (failure) {
      document.getElementById("invitation-error").textContent = failure.message;
      answer.disabled = false;
    }
  });
}

const socket = new RealtimeSocket();
new Ringer({ socket, me: config.me, onAnswered: () => location.reload() });
socket.connect();
