package io.alimi.limit;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClientAddressTest {

    private static InetSocketAddress peer(String ip) {
        return new InetSocketAddress(ip, 40000);
    }

    @Test
    void withoutTrustedProxiesTheForwardedHeaderIsIgnored() {
        assertEquals("203.0.113.9", ClientAddress.DIRECT.of(peer("203.0.113.9"), Optional.of("1.2.3.4")));
    }

    @Test
    void behindATrustedProxyTheClientIsTheRightMostUntrustedHop() {
        ClientAddress behind = ClientAddress.trusting(List.of("10.0.0.0/8", "192.168.1.5", "fd00::/8"));
        assertEquals("198.51.100.7", behind.of(peer("10.1.2.3"), Optional.of("198.51.100.7")));
        // The left-most hop is whatever the client claimed; only hops added by trusted proxies count.
        assertEquals("198.51.100.7", behind.of(peer("10.1.2.3"), Optional.of("6.6.6.6, 198.51.100.7, 10.9.9.9")));
        assertEquals("2001:db8:0:0:0:0:0:1", behind.of(peer("fd00::1"), Optional.of("2001:db8::1")));
        assertEquals("10.1.2.3", behind.of(peer("10.1.2.3"), Optional.empty()));
    }

    @Test
    void anUntrustedPeerCannotChooseItsAddress() {
        ClientAddress behind = ClientAddress.trusting(List.of("10.0.0.0/8"));
        assertEquals("198.51.100.7", behind.of(peer("198.51.100.7"), Optional.of("10.0.0.1")));
    }

    @Test
    void garbageInTheHeaderStopsTheWalk() {
        ClientAddress behind = ClientAddress.trusting(List.of("10.0.0.0/8"));
        assertEquals("10.0.0.2", behind.of(peer("10.0.0.1"), Optional.of("evil.example, 10.0.0.2")));
    }

    @Test
    void invalidRangesAreRefusedAtStartUp() {
        assertThrows(IllegalArgumentException.class, () -> ClientAddress.trusting(List.of("10.0.0.0/33")));
        assertThrows(IllegalArgumentException.class, () -> ClientAddress.trusting(List.of("proxy.internal")));
    }
}
