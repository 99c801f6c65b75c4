package io.stoker.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.stoker.llm.batch.LlmEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP server over one {@link LlmEngine} (Netty, HTTP/1.1, keep-alive). Every client's
 * requests go to the same engine, which batches them continuously. See {@code docs/openai.md} for routes and
 * options.
 *
 * <p>The caller owns the engine: {@link #close()} stops the server (cancelling the requests of open connections)
 * but leaves the engine running.
 *
 * <p>Thread-safety: {@link #start} and {@link #close} from any thread; the rest is called by the event loops.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);
    /** A keep-alive connection with no request in progress and no traffic for this long is closed. */
    static final int IDLE_SECONDS = 300;

    private final LlmEngine engine;
    private final ServeConfig config;
    private final Admission admission;
    private final ServeMetrics metrics;
    private final ResponseJson json;
    private final RequestParser parser;
    private final long startedAt = System.currentTimeMillis() / 1000;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup channels = new DefaultChannelGroup("stoker-serve", GlobalEventExecutor.INSTANCE);
    private volatile InetSocketAddress address;
    private volatile boolean closed;

    private OpenAiServer(LlmEngine engine, ServeConfig config) {
        this.engine = engine;
        this.config = config;
        this.admission = new Admission(config.maxPending());
        this.metrics = new ServeMetrics(engine, admission::admitted);
        this.json = new ResponseJson(config.servedModelName(), engine.model().requireTokenizer());
        this.parser = new RequestParser(config.servedModelName(), config.maxN());
        this.boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), NioIoHandler.newFactory());
    }

    /**
     * Binds and starts serving. The engine must be started ({@link LlmEngine#start()}).
     *
     * @throws IllegalArgumentException when the model has no tokenizer
     * @throws IllegalStateException    when the address cannot be bound (names it)
     */
    public static OpenAiServer start(LlmEngine engine, ServeConfig config) {
        OpenAiServer s = new OpenAiServer(engine, config);
        s.bind();
        return s;
    }

    private void bind() {
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, IDLE_SECONDS))
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpObjectAggregator(config.maxBodyBytes()))
                                .addLast(new HttpHandler(OpenAiServer.this));
                    }
                });
        try {
            Channel ch = b.bind(config.host(), config.port()).sync().channel();
            channels.add(ch);
            address = (InetSocketAddress) ch.localAddress();
        } catch (Exception e) {
            shutdownGroups();
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": " + e
                    + "; choose another --port or --host", e);
        }
        LOG.info("serving {} (OpenAI API) on http://{}:{}/v1{}", config.servedModelName(),
                address.getAddress().getHostAddress(), address.getPort(),
                config.apiKey() == null ? " (no API key)" : " (API key required)");
    }

    /** @return the bound port (useful with port 0) */
    public int port() {
        return address.getPort();
    }

    public InetSocketAddress address() {
        return address;
    }

    public LlmEngine engine() {
        return engine;
    }

    /** @return generation requests admitted and not finished */
    public int admitted() {
        return admission.admitted();
    }

    ServeConfig config() {
        return config;
    }

    Admission admission() {
        return admission;
    }

    ServeMetrics metrics() {
        return metrics;
    }

    ResponseJson json() {
        return json;
    }

    RequestParser parser() {
        return parser;
    }

    long startedAt() {
        return startedAt;
    }

    void respondJson(ChannelHandlerContext ctx, String route, HttpResponseStatus status, ObjectNode body) {
        respond(ctx, route, status, "application/json", Json.bytes(body));
    }

    void respondError(ChannelHandlerContext ctx, String route, ApiError e) {
        FullHttpResponse r = response(e.status, "application/json", Json.bytes(e.toJson()));
        if (e.status.code() == 429) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        } else if (e.status.code() == 401) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        metrics.httpRequests.labelValues(route, Integer.toString(e.status.code())).inc();
        ctx.writeAndFlush(r);
    }

    void respondHealth(ChannelHandlerContext ctx, String route) {
        Throwable dead = engine.failure();
        ObjectNode o = Json.MAPPER.createObjectNode();
        if (engine.isUsable()) {
            o.put("status", "ok");
            respondJson(ctx, route, HttpResponseStatus.OK, o);
        } else {
            o.put("status", dead != null ? "engine died: " + dead : "engine closed");
            respondJson(ctx, route, HttpResponseStatus.SERVICE_UNAVAILABLE, o);
        }
    }

    void respondMetrics(ChannelHandlerContext ctx, String route) {
        respond(ctx, route, HttpResponseStatus.OK, metrics.contentType(), metrics.scrape());
    }

    private void respond(ChannelHandlerContext ctx, String route, HttpResponseStatus status, String type,
                         byte[] body) {
        metrics.httpRequests.labelValues(route, Integer.toString(status.code())).inc();
        ctx.writeAndFlush(response(status, type, body));
    }

    private static FullHttpResponse response(HttpResponseStatus status, String type, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        HttpUtil.setContentLength(r, body.length);
        return r;
    }

    /** Stops listening and closes every connection (their requests are cancelled); leaves the engine running. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        channels.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        shutdownGroups();
        LOG.info("stopped serving {}", config.servedModelName());
    }

    private void shutdownGroups() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
