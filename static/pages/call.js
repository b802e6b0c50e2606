// The call page: its socket and the call screen.

import { startCallScreen } from "./call-screen.js";
import { RealtimeSocket } from "./socket.js";

const config = JSON.parse(document.getElementById("call-config").textContent);
const socket = new RealtimeSocket();
startCallScreen({ config, socket });
socket.connect();
