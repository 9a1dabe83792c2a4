package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.TestNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device registration for mobile push, against a real node and Redis. */
class DevicesIT {

    @RegisterExtension
    final Closer closer = new Closer();

    private static final String PHONE = "fcm-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa:APA91b" + "x".repeat(120);

    private static Http.Reply register(Http http, String admin, String body) {
        return http.post("/v1/devices", "application/json", body, "Authorization", "Bearer " + admin);
    }

    private static List<String> tokens(Http http, String admin) {
        JsonNode devices = http.get("/v1/devices", "Authorization", "Bearer " + admin).json().get("devices");
        List<String> tokens = new ArrayList<>();
        devices.forEach(device -> tokens.add(device.get("token").asText()));
        return tokens;
    }

    @Test
    void aDeviceRegistersListsAndSignsOutAndIsToldWhichScopesPushesItGets() {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        Http http = new Http(node.port());
        Http.Reply reply = register(http, TestNode.ADMIN_42,
                "{\"token\":\"" + PHONE + "\",\"platform\":\"android\",\"appVersion\":\"3.2.0\"}");
        assertEquals(201, reply.status(), reply.body());
        assertEquals("[\"admin:42\",\"all\",\"mall:1\",\"partner:7\"]", reply.json().get("pushes").toString());
        assertEquals(List.of(PHONE), tokens(http, TestNode.ADMIN_42));
        assertEquals(List.of(), tokens(http, TestNode.ADMIN_77));

        assertEquals(404, http.send(http.request("/v1/devices/" + PHONE).header("Authorization", "Bearer " + TestNode.ADMIN_77)
                .DELETE().build()).status(), "another admin cannot sign my phone out");
        assertEquals(204, http.send(http.request("/v1/devices/" + PHONE).header("Authorization", "Bearer " + TestNode.ADMIN_42)
                .DELETE().build()).status());
        assertEquals(List.of(), tokens(http, TestNode.ADMIN_42));
    }

    @Test
    void aPhoneSignedInAsAnotherAdminMovesToThem() {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        Http http = new Http(node.port());
        String body = "{\"token\":\"" + PHONE + "\",\"platform\":\"ios\",\"appVersion\":\"3.2.0\"}";
        assertEquals(201, register(http, TestNode.ADMIN_42, body).status());
        assertEquals(201, register(http, TestNode.ADMIN_77, body).status());
        assertEquals(List.of(), tokens(http, TestNode.ADMIN_42), "no longer receives admin 42's pushes");
        assertEquals(List.of(PHONE), tokens(http, TestNode.ADMIN_77));
    }

    @Test
    void badRegistrationsNameWhatIsWrong() {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        Http http = new Http(node.port());
        Http.Reply noToken = register(http, TestNode.ADMIN_42, "{\"platform\":\"android\"}");
        assertEquals(400, noToken.status());
        assertTrue(noToken.json().get("detail").asText().startsWith("token: "), noToken.body());
        Http.Reply injected = register(http, TestNode.ADMIN_42, "{\"token\":\"abc\\r\\nX: y\",\"platform\":\"android\"}");
        assertEquals(400, injected.status());
        Http.Reply platform = register(http, TestNode.ADMIN_42, "{\"token\":\"abc\",\"platform\":\"symbian\"}");
        assertEquals(400, platform.status());
        assertTrue(platform.json().get("detail").asText().startsWith("platform: "), platform.body());
        assertEquals(401, http.post("/v1/devices", "application/json", "{}").status());
    }
}
