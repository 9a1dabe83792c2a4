package io.alimi.auth;

import org.junit.jupiter.api.Test;

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
        assertEquals(Optional.of("orders"), keys.verify("orders-key-0123456789"));
        assertEquals(Optional.of("ops"), keys.verify("ops-key-0123456789ab"));
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
}
