// The project page: one socket shared by the conversation and the meetings panel.

import { Chat } from "./chat.js";
import { RealtimeSocket, showConnectionStatus } from "./socket.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const socket = new RealtimeSocket({ onStatus: showConnectionStatus(document.getElementById("connection-status")) });
const chat = new Chat({ config, socket });

await chat.start();
socket.connect();
