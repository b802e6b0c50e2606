// The project page: one socket shared by the conversation, the meetings panel and the ring. The
// socket connects at once, so the ring and the meetings panel never wait for the chat's history;
// the chat joins its conversation once its history is in (chat.js).

import { Chat } from "./chat.js";
import { MeetingsPanel, Ringer } from "./meetings.js";
import { RealtimeSocket, showConnectionStatus } from "./socket.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const socket = new RealtimeSocket({ onStatus: showConnectionStatus(document.getElementById("connection-status")) });
const chat = new Chat({ config, socket });
const meetings = new MeetingsPanel({ config, socket });
new Ringer({ socket, me: config.me, onAnswered: (meeting) => meetings.upsert(meeting) });

chat.start();
socket.connect();
