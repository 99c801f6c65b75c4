package io.stoker.llm.openai;

/**
 * One chat message on the wire: {@code {"role": ..., "content": ...}}.
 *
 * @param role    {@code system}, {@code user}, {@code assistant}, ...
 * @param content the text
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isEmpty()) {
            throw new IllegalArgumentException("a chat message needs a role (system, user, assistant)");
        }
        if (content == null) {
            throw new IllegalArgumentException("the " + role + " message has null content; give a string");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
