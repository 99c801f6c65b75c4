package io.stoker.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * An error answered in OpenAI's shape: {@code {"error": {"message", "type", "param", "code"}}} with an HTTP status.
 * Messages say what was wrong and what to do; they never carry a secret.
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final HttpResponseStatus status;
    final String type;
    final String param;
    final String code;

    ApiError(HttpResponseStatus status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 naming the request field. */
    static ApiError badRequest(String param, String message) {
        return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", param, null, message);
    }

    /** 400 for a field this server does not implement. */
    static ApiError unsupported(String param, String message) {
        return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", param, "unsupported_parameter",
                message);
    }

    ObjectNode toJson() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        if (param == null) {
            e.putNull("param");
        } else {
            e.put("param", param);
        }
        if (code == null) {
            e.putNull("code");
        } else {
            e.put("code", code);
        }
        return root;
    }
}
