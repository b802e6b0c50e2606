"""Socket event names of the messaging module (the spec's strings), their groups, and the payloads
that are not a REST shape (messages and read markers are sent as their serializers show them)."""

JOIN = "join"
LEAVE = "leave"
MESSAGE_NEW = "message:new"
MESSAGE_READ = "message:read"
CONVERSATION_READ = "conversation:read"
CONVERSATION_TYPING = "conversation:typing"
CONVERSATION_NEW = "conversation:new"
CONVERSATION_REMOVED = "conversation:removed"


def conversation_group(conversation_id: int) -> str:
    return f"conversation_{conversation_id}"


def conversation_new_payload(conversation) -> dict:
    return {
        "id": conversation.pk,
        "projectId": conversation.project_id,
        "projectTitle": conversation.project.title,
    }


def conversation_removed_payload(conversation_id: int) -> dict:
    return {"conversationId": conversation_id}


def typing_payload(*, conversation_id: int, user, is_typing: bool) -> dict:
    return {"conversationId": conversation_id, "userId": user.pk, "username": user.username, "isTyping": is_typing}
