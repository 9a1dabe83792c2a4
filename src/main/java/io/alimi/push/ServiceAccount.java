package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/**
 * A Google service account, from its JSON key file: who signs the OAuth assertion and with which key.
 *
 * @param clientEmail the account's e-mail (the assertion's issuer)
 * @param privateKey  its RSA private key
 * @param tokenUri    where the assertion is exchanged for an access token
 * @param projectId   the Firebase project, if the file names it
 */
public record ServiceAccount(String clientEmail, PrivateKey privateKey, String tokenUri, String projectId) {

    /**
     * Reads a service-account key file.
     *
     * @throws IllegalArgumentException naming the field at fault (never printing the key)
     */
    public static ServiceAccount load(Path file) throws IOException {
        JsonNode json = new ObjectMapper().readTree(Files.readAllBytes(file));
        if (json == null || !"service_account".equals(json.path("type").asText())) {
            throw new IllegalArgumentException(file + ": not a service-account key file (type must be service_account)");
        }
        String email = required(file, json, "client_email");
        String pem = required(file, json, "private_key");
        String tokenUri = json.path("token_uri").asText("https://oauth2.googleapis.com/token");
        try {
            String base64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
                    .replaceAll("\\s", "");
            PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
            return new ServiceAccount(email, key, tokenUri, json.path("project_id").asText(""));
        } catch (Exception e) {
            throw new IllegalArgumentException(file + ": private_key is not a PKCS#8 RSA key in PEM form");
        }
    }

    private static String required(Path file, JsonNode json, String field) {
        String value = json.path(field).asText("");
        if (value.isEmpty()) {
            throw new IllegalArgumentException(file + ": " + field + " is missing");
        }
        return value;
    }

    @Override
    public String toString() {
        return "ServiceAccount[" + clientEmail + "]";
    }
}
