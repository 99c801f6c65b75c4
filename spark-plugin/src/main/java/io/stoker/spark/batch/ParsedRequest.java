package io.stoker.spark.batch;

import java.util.List;

/**
 * One request line as read: the fields of {@link RequestSchema} in plain Java types. A line that is not a request
 * has {@code lineError} set (and only what could be read before the problem); a request whose body is invalid has
 * {@code bodyError} set and no messages, prompt or sampling.
 *
 * @param sampling values in the order of {@link RequestSchema#SAMPLING_FIELDS} (null entries: not set), or null
 */
record ParsedRequest(String customId, String method, String url, String model, List<Message> messages, String prompt,
                     Object[] sampling, List<String> otherFields, String body, String file, long line,
                     String lineError, String bodyError) {

    /** One chat message: its role and its text (text content parts joined by newlines; null when absent). */
    record Message(String role, String content) {
    }

    static ParsedRequest lineError(String customId, String method, String url, String body, String file, long line,
                                   String error) {
        return new ParsedRequest(customId, method, url, null, null, null, null, null, body, file, line, error, null);
    }
}
