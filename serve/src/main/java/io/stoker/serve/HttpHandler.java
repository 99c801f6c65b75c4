package io.stoker.serve;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;

/**
 * Routes one connection's requests: {@code /health}, {@code /metrics}, {@code /v1/models},
 * {@code /v1/chat/completions}, {@code /v1/completions}. Checks the API key on everything but {@code /health}. One
 * request runs at a time per connection (HTTP/1.1 answers in order); pipelined requests wait in a short backlog.
 * When the connection closes, the running completion is aborted, which cancels its engine requests.
 *
 * <p>Threading: one instance per connection, called on its event loop only.
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger LOG = LoggerFactory.getLogger(HttpHandler.class);
    private static final int MAX_BACKLOG = 16;
    private static final String CHAT = "/v1/chat/completions";
    private static final String COMPLETIONS = "/v1/completions";
    private static final Map<String, Set<HttpMethod>> ROUTES = Map.of(
            "/health", Set.of(HttpMethod.GET, HttpMethod.HEAD),
            "/metrics", Set.of(HttpMethod.GET),
            "/v1/models", Set.of(HttpMethod.GET),
            CHAT, Set.of(HttpMethod.POST),
            COMPLETIONS, Set.of(HttpMethod.POST));

    private final OpenAiServer server;
    private final ArrayDeque<FullHttpRequest> backlog = new ArrayDeque<>();
    private CompletionExchange current;

    HttpHandler(OpenAiServer server) {
        this.server = server;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (current != null) {
            if (backlog.size() >= MAX_BACKLOG) {
                LOG.debug("{}: more than {} pipelined requests; closing", ctx.channel().remoteAddress(), MAX_BACKLOG);
                ctx.close();
                return;
            }
            backlog.add(req.retain());
            return;
        }
        handle(ctx, req);
    }

    private void next(ChannelHandlerContext ctx) {
        current = null;
        FullHttpRequest req;
        while (current == null && (req = backlog.poll()) != null) {
            try {
                handle(ctx, req);
            } finally {
                req.release();
            }
        }
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        String path = new QueryStringDecoder(req.uri()).path();
        Set<HttpMethod> methods = ROUTES.get(path);
        String route = methods == null ? "other" : path;
        if (req.decoderResult().isFailure()) {
            server.respondError(ctx, route, ApiError.badRequest(null, "malformed HTTP request: "
                    + req.decoderResult().cause().getMessage()));
            return;
        }
        if (methods == null) {
            server.respondError(ctx, route, new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null,
                    "not_found", "no route " + req.method() + " " + path + "; this server has /v1/chat/completions,"
                    + " /v1/completions, /v1/models, /health and /metrics"));
            return;
        }
        if (!methods.contains(req.method())) {
            server.respondError(ctx, route, new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "invalid_request_error", null, "method_not_allowed", path + " takes " + methods + ", not "
                    + req.method()));
            return;
        }
        if (!path.equals("/health") && server.config().apiKey() != null
                && !server.config().apiKey().matches(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            server.respondError(ctx, route, new ApiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error",
                    null, "invalid_api_key", "Missing or incorrect API key; send it as 'Authorization: Bearer <key>'"));
            return;
        }
        switch (path) {
            case "/health":
                server.respondHealth(ctx, route);
                return;
            case "/metrics":
                server.respondMetrics(ctx, route);
                return;
            case "/v1/models":
                server.respondJson(ctx, route, HttpResponseStatus.OK, server.json().models(server.startedAt(),
                        server.engine().maxModelLen()));
                return;
            default:
                completion(ctx, req, path.equals(CHAT), route);
        }
    }

    private void completion(ChannelHandlerContext ctx, FullHttpRequest req, boolean chat, String route) {
        CompletionExchange ex;
        try {
            CompletionRequest cr = server.parser().parse(chat, ByteBufUtil.getBytes(req.content()));
            ex = new CompletionExchange(ctx, server, cr, route, () -> next(ctx));
            current = ex;
            ex.start();
        } catch (ApiError e) {
            current = null;
            if (e.status.code() == 400 || e.status.code() == 404) {
                server.metrics().rejected.labelValues("invalid").inc();
            }
            server.respondError(ctx, route, e);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) {
            current.abort();
            current = null;
        }
        FullHttpRequest r;
        while ((r = backlog.poll()) != null) {
            r.release();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && current == null) {
            ctx.close(); // an idle keep-alive connection; a request waiting in the engine keeps its connection
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("{}: connection error; closing", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
