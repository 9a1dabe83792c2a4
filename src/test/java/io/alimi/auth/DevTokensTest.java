package io.alimi.auth;

import io.alimi.event.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DevTokensTest {

    @TempDir
    Path dir;

    private Path file(String json) throws IOException {
        Path file = dir.resolve("tokens.json");
        Files.writeString(file, json);
        return file;
    }

    @Test
    void aTokenYieldsItsProfileAndItsScopes() throws IOException {
        DevTokens tokens = DevTokens.load(file("{\"token-of-admin-42\":{\"adminNo\":\"42\",\"malls\":[\"1\",\"2\"],\"partner\":\"7\"}}"));
        Profile profile = tokens.resolve("token-of-admin-42").orElseThrow().profile();
        assertEquals(Set.of(Scope.ALL, Scope.admin("42"), Scope.mall("1"), Scope.mall("2"), Scope.partner("7")), profile.scopes());
        assertTrue(tokens.resolve("token-of-admin-43").isEmpty());
    }

    @Test
    void badEntriesAreNamedByPositionNeverByToken() throws IOException {
        IllegalArgumentException shortToken = assertThrows(IllegalArgumentException.class,
                () -> DevTokens.load(file("{\"short\":{\"adminNo\":\"1\"}}")));
        assertFalse(shortToken.getMessage().contains("short\""), shortToken.getMessage());
        assertTrue(shortToken.getMessage().endsWith("token 1 is shorter than 16 characters"), shortToken.getMessage());

        IllegalArgumentException badMall = assertThrows(IllegalArgumentException.class,
                () -> DevTokens.load(file("{\"token-of-admin-42\":{\"adminNo\":\"42\",\"malls\":[\"1 2\"]}}")));
        assertTrue(badMall.getMessage().endsWith("profile 1: ids must be 1 to 64 characters of A-Z a-z 0-9 _ -"), badMall.getMessage());
        assertFalse(badMall.getMessage().contains("token-of-admin-42"));

        IllegalArgumentException noAdmin = assertThrows(IllegalArgumentException.class,
                () -> DevTokens.load(file("{\"token-of-admin-42\":{\"malls\":[\"1\"]}}")));
        assertTrue(noAdmin.getMessage().endsWith("profile 1: adminNo must be a string"), noAdmin.getMessage());
    }
}
