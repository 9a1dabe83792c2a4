package io.alimi.observe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.List;

/**
 * {@code /health/live} and {@code /health/ready}.
 *
 * <pre>
 * curl -s http://localhost:8080/health/ready
 * {"status":"DOWN","checks":{"redis":{"status":"UP","detail":"PONG in 1 ms"},"bridge":{"status":"DOWN","detail":"retrying since …: timeline append failed: …"}}}
 * </pre>
 *
 * Live: the process answers (200). Ready: every check is up (200), else 503 with the failing ones, so a load
 * balancer stops sending clients to a node that cannot serve them.
 */
public final class HealthService implements HttpService {

    private final List<HealthCheck> checks;

    public HealthService(List<HealthCheck> checks) {
        this.checks = List.copyOf(checks);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/live", this::live).get("/ready", this::ready);
    }

    private void live(ServerRequest req, ServerResponse res) {
        send(res, Status.OK_200, EventJson.mapper().createObjectNode().put("status", "UP"));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        ObjectNode results = EventJson.mapper().createObjectNode();
        boolean up = true;
        for (HealthCheck check : checks) {
            Check result = check.check();
            up &= result.up();
            results.putObject(result.name()).put("status", result.up() ? "UP" : "DOWN").put("detail", result.detail());
        }
        body.put("status", up ? "UP" : "DOWN");
        body.set("checks", results);
        send(res, up ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503, body);
    }

    private static void send(ServerResponse res, Status status, ObjectNode body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(EventJson.bytes(body));
    }
}
