package io.alimi;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.alimi.dev.DevLauncher;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * compose.yaml and deploy/ cannot be run here (no container engine): this keeps them consistent with the build and
 * with each other, so a version bump or an edit does not quietly break them. scripts/lb-check runs the nginx
 * configuration itself.
 */
class DeploymentFilesTest {

    private static final Path COMPOSE = Path.of("compose.yaml");
    private static final Path NGINX = Path.of("deploy/nginx.conf");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> compose() throws IOException {
        return new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(COMPOSE));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> service(String name) throws IOException {
        return (Map<String, Object>) ((Map<String, Object>) compose().get("services")).get(name);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> environment(String name) throws IOException {
        return (Map<String, Object>) service(name).get("environment");
    }

    @Test
    void composeRunsTheImageTheBuildTags() throws IOException {
        String image = System.getProperty("alimi.image.name", "alimi:0.1.0-SNAPSHOT");
        for (String name : List.of("alimi-bridge", "relay-1", "relay-2")) {
            assertEquals("${ALIMI_IMAGE:-" + image + "}", service(name).get("image"), name);
        }
        assertTrue(Files.readString(COMPOSE).contains("# -> " + image),
                "the usage comment names the tag");
    }

    @Test
    void composeGivesEachNodeItsRoleAndTheRelaysTrustOnlyTheBalancer() throws IOException {
        assertEquals("bridge", environment("alimi-bridge").get("ALIMI_ROLES"));
        for (String relay : List.of("relay-1", "relay-2")) {
            assertEquals("relay", environment(relay).get("ALIMI_ROLES"));
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Object>> networks = (Map<String, Map<String, Object>>) service("lb").get("networks");
            assertEquals(networks.get("alimi").get("ipv4_address"), environment(relay).get("ALIMI_HTTP_TRUSTED_PROXIES"));
        }
    }

    @Test
    void composeMountsFilesThatExist() throws IOException {
        for (String name : List.of("redis", "lb", "relay-1", "alimi-bridge")) {
            @SuppressWarnings("unchecked")
            List<String> volumes = (List<String>) service(name).get("volumes");
            volumes.stream().filter(v -> v.startsWith("./")).forEach(volume ->
                    assertTrue(Files.isRegularFile(Path.of(volume.substring(0, volume.indexOf(':')))), name + ": " + volume));
        }
    }

    @Test
    void composeHasTheDevelopmentAdminsOfScriptsRun() throws IOException {
        Path written = DevLauncher.DevTokensFile.write(Files.createTempDirectory("alimi-tokens-").resolve("dev-tokens.json"));
        try {
            ObjectMapper json = new ObjectMapper();
            assertEquals(json.readTree(written.toFile()), json.readTree(Path.of("deploy/dev-tokens.json").toFile()));
        } finally {
            Files.delete(written);
            Files.delete(written.getParent());
        }
    }

    @Test
    void theBalancerPassesStreamsThrough() throws IOException {
        String conf = Files.readString(NGINX);
        // What SSE and WebSocket need (docs/OPERATIONS.md, "Packaging and deployment"); scripts/lb-check runs it.
        for (String directive : List.of("proxy_buffering off;", "proxy_cache off;", "proxy_http_version 1.1;",
                "proxy_read_timeout 1h;", "proxy_send_timeout 1h;", "proxy_set_header Upgrade $http_upgrade;",
                "proxy_set_header Connection $connection_upgrade;", "proxy_set_header Host $http_host;",
                "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "server relay-1:8080",
                "server relay-2:8080", "listen 8080;")) {
            assertTrue(conf.contains(directive), directive);
        }
    }
}
