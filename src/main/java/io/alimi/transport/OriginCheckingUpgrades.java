package io.alimi.transport;

import io.alimi.http.Origins;
import io.helidon.common.Weight;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.RequestException;
import io.helidon.webserver.ProtocolConfigs;
import io.helidon.webserver.http1.spi.Http1Upgrader;
import io.helidon.webserver.websocket.WsConfig;
import io.helidon.webserver.websocket.WsUpgradeProvider;
import io.helidon.webserver.websocket.WsUpgrader;

import java.util.ArrayList;
import java.util.Optional;

/**
 * The WebSocket handshake's origin rule, the same as every other route's ({@link Origins#allows}): no
 * {@code Origin} (not a browser), Alimi's own origin (the {@code Host} the request was sent to), or one of
 * {@code alimi.http.cors.allowed-origins}. Anything else is refused at the handshake with 403: a foreign page never
 * gets a socket.
 *
 * <p>Why not Helidon's own check: with an allow-list it accepts only the listed origins (Alimi's own console and
 * any page served from Alimi's host are refused), and without one only the request's host. Found by the
 * service loader ({@code META-INF/services}), ahead of Helidon's provider by its weight; the allow-list is the
 * one given to {@link WsConfig#origins()}.
 */
@Weight(200)
public final class OriginCheckingUpgrades extends WsUpgradeProvider {

    /** For the service loader. */
    public OriginCheckingUpgrades() {
    }

    @Override
    public Http1Upgrader create(WsConfig config, ProtocolConfigs configs) {
        return new Upgrader(config, Origins.of(new ArrayList<>(config.origins())));
    }

    private static final class Upgrader extends WsUpgrader {
        private final Origins origins;

        Upgrader(WsConfig config, Origins origins) {
            super(config);
            this.origins = origins;
        }

        @Override
        protected void validateOrigin(Headers headers, String origin) {
            if (!origins.allows(Optional.of(origin), headers.first(HeaderNames.HOST))) {
                throw RequestException.builder()
                        .message("origin is not allowed")
                        .type(DirectHandler.EventType.FORBIDDEN)
                        .build();
            }
        }
    }
}
