// The /ws/ protocol as the pages speak it (docs/realtime.md): every event name and close code the
// page scripts use, named here and nowhere else.

export const EVENT = Object.freeze({
  // client → server
  JOIN: "join",
  MEETING_JOINED: "meeting:joined",
  MEETING_LEFT: "meeting:left",
  // both ways
  TYPING: "conversation:typing",
  // server → client
  ERROR: "error",
  MESSAGE_NEW: "message:new",
  MESSAGE_UPDATED: "message:updated",
  MESSAGE_DELETED: "message:deleted",
  MESSAGE_READ: "message:read",
  CONVERSATION_READ: "conversation:read",
  MEETING_INVITE: "meeting:invite",
  MEETING_STARTED: "meeting:started",
  MEETING_ENDED: "meeting:ended",
  MEETING_CANCELLED: "meeting:cancelled",
  MEETING_RESCHEDULED: "meeting:rescheduled",
  MEETING_ACCEPT: "meeting:accept",
  MEETING_DECLINE: "meeting:decline",
});

export const CLOSE = Object.freeze({
  // Every other close code (1000, 1001, 1006, 1012, 4403, 4408) means: reconnect and catch up.
  UNAUTHENTICATED: 4401,
});

// The `ref` a page puts on its join, so it can tell a refused join from other errors.
export const JOIN_REF = "join";
