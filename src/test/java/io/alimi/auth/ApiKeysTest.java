package io.alimi.auth;

import io.alimi.event.Envelope;
import io.alimi.event.Scope;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiKeysTest {

    @Test
    void aKnownKeyYieldsItsNameAndAnUnknownOneNothing() {
        ApiKeys keys = ApiKeys.parse(List.of("orders=orders-key-0123456789", "ops=ops-key-0123456789ab"));
        assertEquals(Optional.of("orders"), keys.verify("orders-key-0123456789").map(ApiKeys.Key::name));
        assertEquals(Optional.of("ops"), keys.verify("ops-key-0123456789ab").map(ApiKeys.Key::name));
        assertTrue(keys.verify("orders-key-012345678").isEmpty());
        assertTrue(keys.verify("").isEmpty());
    }

    @Test
    void weakOrMalformedEntriesAreRefusedWithoutRevealingTheKey() {
        IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class, () -> ApiKeys.parse(List.of("x=secret")));
        assertEquals("the key named 'x' is shorter than 16 characters", shortKey.getMessage());
        assertFalse(shortKey.getMessage().contains("secret"));
        IllegalArgumentException noName = assertThrows(IllegalArgumentException.class, () -> ApiKeys.parse(List.of("just-a-key-without-name")));
        assertEquals("entry 1 is not name=key", noName.getMessage());
    }

    @Test
    void bearerTokensAreTakenOnlyFromTheBearerScheme() {
        assertEquals(Optional.of("abc"), BearerToken.from(Optional.of("Bearer abc")));
        assertEquals(Optional.of("abc"), BearerToken.from(Optional.of("bearer  abc ")));
        assertTrue(BearerToken.from(Optional.of("Basic abc")).isEmpty());
        assertTrue(BearerToken.from(Optional.of("Bearer ")).isEmpty());
        assertTrue(BearerToken.from(Optional.empty()).isEmpty());
    }

    private static Path keysFile(String json) throws IOException {
        Path file = Files.createTempFile("alimi-keys-", ".json");
        file.toFile().deleteOnExit();
        Files.writeString(file, json);
        return file;
    }

    private static String sha256(String key) {
        return HexFormat.of().formatHex(ApiKeys.sha256(key));
    }

    private static Envelope event(String source, String type, String... targets) {
        return new Envelope("e-1", source, type, java.util.Arrays.stream(targets).map(Scope::parse).toList(), false, new byte[0]);
    }

    @Test
    void aKeysFileHoldsDigestsAndRestrictsSourcesTypesAndTargetKinds() throws IOException {
        ApiKeys keys = ApiKeys.load(keysFile("""
                {"keys": [
                  {"name": "orders", "sha256": "%s", "sources": ["/orders"], "types": ["order."], "targets": ["mall", "admin"]},
                  {"name": "ops", "sha256": "%s"}
                ]}
                """.formatted(sha256("orders-key-0123456789"), sha256("ops-key-0123456789ab").toUpperCase())));
        ApiKeys.Key orders = keys.verify("orders-key-0123456789").orElseThrow();
        assertTrue(orders.refusal(event("/orders/eu", "order.created", "mall:1", "admin:2")).isEmpty());
        assertEquals("source '/claims' is not one this key ('orders') may publish from [/orders]",
                orders.refusal(event("/claims", "order.created", "mall:1")).orElseThrow());
        assertEquals("type 'notice.posted' is not one this key ('orders') may publish [order.]",
                orders.refusal(event("/orders", "notice.posted", "mall:1")).orElseThrow());
        assertEquals("target all is not one this key ('orders') may target [admin, mall]",
                orders.refusal(event("/orders", "order.created", "mall:1", "all")).orElseThrow());
        ApiKeys.Key ops = keys.verify("ops-key-0123456789ab").orElseThrow();
        assertTrue(ops.refusal(event("/anything", "notice.posted", "all", "partner:3")).isEmpty(), "no restriction, anything");
        assertTrue(keys.verify("orders-key-012345678").isEmpty());
    }

    @Test
    void aPartnersKeyReachesItsPartnerAndTheMallsItServesAndNothingElse() throws IOException {
        ApiKeys keys = ApiKeys.load(keysFile("""
                {"keys": [{"name": "partner-7", "sha256": "%s", "targets": ["partner:7", "mall:12", "mall:13"]}]}
                """.formatted(sha256("partner-7-key-0123456789"))));
        ApiKeys.Key partner = keys.verify("partner-7-key-0123456789").orElseThrow();
        assertTrue(partner.refusal(event("/p7", "product.question", "partner:7", "mall:12", "mall:13")).isEmpty());
        assertEquals("target mall:14 is not one this key ('partner-7') may target [mall:12, mall:13, partner:7]",
                partner.refusal(event("/p7", "product.question", "mall:12", "mall:14")).orElseThrow());
        assertTrue(partner.refusal(event("/p7", "x", "partner:8")).isPresent(), "another partner");
        assertTrue(partner.refusal(event("/p7", "x", "all")).isPresent(), "everyone");
        assertTrue(partner.refusal(event("/p7", "x", "admin:7")).isPresent(), "an admin");
    }

    @Test
    void anInvalidKeysFileNamesTheEntryAndTheRule() throws IOException {
        IllegalArgumentException badDigest = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile(
                "{\"keys\": [{\"name\": \"orders\", \"sha256\": \"abc\"}]}")));
        assertTrue(badDigest.getMessage().endsWith("key 1 ('orders'): sha256 must be the 64 hex digits of the key's SHA-256 digest"),
                badDigest.getMessage());
        IllegalArgumentException badKind = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile(
                "{\"keys\": [{\"name\": \"x\", \"sha256\": \"%s\", \"targets\": [\"shop\"]}]}".formatted(sha256("k")))));
        assertTrue(badKind.getMessage().endsWith("targets: 'shop' is neither a kind (all, mall, admin, partner) nor a "
                + "scope such as partner:7"), badKind.getMessage());
        IllegalArgumentException badScope = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile(
                "{\"keys\": [{\"name\": \"x\", \"sha256\": \"%s\", \"targets\": [\"shop:1\"]}]}".formatted(sha256("k")))));
        assertTrue(badScope.getMessage().contains("targets: 'shop:1' is not a scope"), badScope.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile(
                "{\"keys\": [{\"name\": \"x\", \"sha256\": \"%s\", \"targets\": []}]}".formatted(sha256("k")))));
        assertTrue(none.getMessage().contains("targets is empty"), none.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile(
                "{\"keys\": [{\"name\": \"x\", \"sha256\": \"%1$s\"}, {\"name\": \"x\", \"sha256\": \"%1$s\"}]}".formatted(sha256("k")))));
        assertTrue(twice.getMessage().endsWith("key 2 ('x'): the name is used twice"), twice.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile("[]")));
        assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(keysFile("{not json")));
    }

    @Test
    void aChangedKeysFileIsInForceWithoutRestartAndABrokenOneChangesNothing() throws IOException {
        Path file = keysFile("{\"keys\": [{\"name\": \"old\", \"sha256\": \"%s\"}]}".formatted(sha256("old-key-0123456789ab")));
        try (ApiKeySource source = new ApiKeySource(ApiKeys.NONE, Optional.of(file), java.time.Duration.ofHours(1))) {
            assertTrue(source.get().verify("old-key-0123456789ab").isPresent());
            Path next = keysFile("{\"keys\": [{\"name\": \"new\", \"sha256\": \"%s\"}]}".formatted(sha256("new-key-0123456789ab")));
            Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            assertTrue(source.reloadIfChanged());
            assertTrue(source.get().verify("new-key-0123456789ab").isPresent());
            assertTrue(source.get().verify("old-key-0123456789ab").isEmpty(), "the rotated-out key stops working");
            Files.writeString(file, "{\"keys\": [{\"name\": \"broken\"}]}");
            assertFalse(source.reloadIfChanged());
            assertTrue(source.get().verify("new-key-0123456789ab").isPresent(), "a broken file leaves the keys in force");
        }
    }
}
