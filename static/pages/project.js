// The project page: one socket shared by the conversation, the meetings panel and the ring.

import { Chat } from "./chat.js";
import { MeetingsPanel, Ringer } from "./meetings.js";
import { RealtimeSocket, showConnectionStatus } from "./socket.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const socket = new RealtimeSocket({ onStatus: showConnectionStatus(document.getElementById("connection-status")) });
const chat = new Chat({ config, socket });
const meetings = new MeetingsPanel({ config, socket });
new Ringer({ socket, me: config.me, onAnswered: (meeting) => meetings.upsert(meeting) });

await chat.start();
socket.connect();
