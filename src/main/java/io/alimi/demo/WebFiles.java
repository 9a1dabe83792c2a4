package io.alimi.demo;

import io.alimi.http.Problem;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The browser files shipped in the jar (from {@code web/}): {@code /alimi.js} and {@code /alimi.d.ts} (the
 * client, always served) and, when the demo is on, the console at {@code /}. A fixed list: no path from the
 * request ever reaches the class loader.
 */
public final class WebFiles implements HttpService {

    private static final Map<String, String> CLIENT = Map.of(
            "/alimi.js", "text/javascript; charset=UTF-8",
            "/alimi.d.ts", "text/plain; charset=UTF-8");
    private static final Map<String, String> CONSOLE = Map.of(
            "/", "text/html; charset=UTF-8",
            "/console.js", "text/javascript; charset=UTF-8",
            "/console.css", "text/css; charset=UTF-8");

    private final boolean console;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    public WebFiles(boolean console) {
        this.console = console;
    }

    @Override
    public void routing(HttpRules rules) {
        CLIENT.keySet().forEach(path -> rules.get(path, this::serve));
        // Browsers ask for it on every page: an empty answer rather than a 404 in their console.
        rules.get("/favicon.ico", (req, res) -> res.status(Status.NO_CONTENT_204).send());
        if (console) {
            CONSOLE.keySet().forEach(path -> rules.get(path, this::serve));
        }
    }

    private void serve(ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        String type = CLIENT.getOrDefault(path, CONSOLE.get(path));
        if (type == null) {
            Problem.of(Status.NOT_FOUND_404, "not-found", "Not found", "no such file").send(res);
            return;
        }
        byte[] body = cache.computeIfAbsent(path, WebFiles::load);
        res.header(HeaderNames.CONTENT_TYPE, type);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header(HeaderNames.create("X-Content-Type-Options"), "nosniff");
        res.header(HeaderNames.create("Content-Security-Policy"),
                "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
        res.send(body);
    }

    private static byte[] load(String path) {
        String resource = "/io/alimi/web/" + (path.equals("/") ? "index.html" : path.substring(1));
        try (InputStream in = WebFiles.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing " + resource + " in the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
