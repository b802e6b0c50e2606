"""Socket event names of the messaging module (the spec's strings) and their group names."""

JOIN = "join"
LEAVE = "leave"
MESSAGE_NEW = "message:new"
MESSAGE_READ = "message:read"
CONVERSATION_READ = "conversation:read"
CONVERSATION_TYPING = "conversation:typing"
CONVERSATION_NEW = "conversation:new"


def conversation_group(conversation_id: int) -> str:
    return f"conversation_{conversation_id}"
