package io.alimi.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import io.alimi.config.Settings;
import io.alimi.config.SettingsException;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Builds the identity sources a node's settings ask for ({@code alimi.auth.*}), in the order they are tried:
 * JWTs (verified locally), development tokens, then opaque tokens at the admin service (the only remote one).
 */
public final class IdentitySources {

    private IdentitySources() {
    }

    /**
     * @param closeables where sources holding resources (threads, connections) are added, to be closed with the node
     */
    public static Identities from(Settings settings, List<AutoCloseable> closeables) {
        List<Identities> sources = new ArrayList<>();
        ClaimsMapping claims = claims(settings);
        jwt(settings, claims).ifPresent(sources::add);
        Optional<String> devFile = settings.optionalString("alimi.auth.dev-tokens-file");
        if (devFile.isPresent()) {
            try {
                sources.add(DevTokens.load(Path.of(devFile.get())));
            } catch (IOException | IllegalArgumentException e) {
                throw new SettingsException("alimi.auth.dev-tokens-file", e.getMessage());
            }
        }
        Optional<IntrospectedIdentities> introspection = introspection(settings, claims);
        introspection.ifPresent(source -> {
            sources.add(source);
            closeables.add(source);
        });
        return sources.isEmpty() ? Identities.NONE : Identities.firstOf(sources);
    }

    private static ClaimsMapping claims(Settings settings) {
        try {
            return new ClaimsMapping(
                    settings.string("alimi.auth.claims.admin", ClaimsMapping.DEFAULT.admin()),
                    settings.string("alimi.auth.claims.malls", ClaimsMapping.DEFAULT.malls()),
                    settings.string("alimi.auth.claims.partner", ClaimsMapping.DEFAULT.partner()),
                    settings.string("alimi.auth.claims.roles", ClaimsMapping.DEFAULT.roles()));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.auth.claims", e.getMessage());
        }
    }

    private static Optional<Identities> jwt(Settings settings, ClaimsMapping claims) {
        Optional<byte[]> secret = settings.optionalString("alimi.auth.jwt.hs256-secret")
                .map(text -> text.getBytes(StandardCharsets.UTF_8));
        if (secret.isPresent() && secret.get().length < JwtIdentities.MIN_SECRET_BYTES) {
            throw new SettingsException("alimi.auth.jwt.hs256-secret", "must be at least "
                    + JwtIdentities.MIN_SECRET_BYTES + " bytes");
        }
        Optional<String> jwksUrl = settings.optionalString("alimi.auth.jwt.jwks-url");
        if (secret.isEmpty() && jwksUrl.isEmpty()) {
            return Optional.empty();
        }
        if (jwksUrl.isPresent() && !settings.bool("alimi.auth.jwt.allow-any-issuer-and-audience", false)) {
            // An identity provider's keys sign the tokens of every application it serves: without both checks, a
            // token it issued for any of them would open this one.
            for (String required : List.of("alimi.auth.jwt.issuer", "alimi.auth.jwt.audience")) {
                if (settings.optionalString(required).filter(value -> !value.isBlank()).isEmpty()) {
                    throw new SettingsException(required, "required with alimi.auth.jwt.jwks-url (the identity "
                            + "provider signs other applications' tokens too): set alimi.auth.jwt.issuer and "
                            + "alimi.auth.jwt.audience, or waive both checks with "
                            + "alimi.auth.jwt.allow-any-issuer-and-audience=true");
                }
            }
        }
        Optional<JWKSource<SecurityContext>> jwks = jwksUrl.map(url -> JwtIdentities.remoteKeys(new JwtIdentities.JwksSettings(
                url(url, "alimi.auth.jwt.jwks-url"),
                settings.duration("alimi.auth.jwt.jwks-cache", JwtIdentities.JwksSettings.DEFAULT_TIME_TO_LIVE,
                        Duration.ofSeconds(10), Duration.ofDays(1)),
                settings.duration("alimi.auth.jwt.jwks-timeout", JwtIdentities.JwksSettings.DEFAULT_TIMEOUT,
                        Duration.ofMillis(100), Duration.ofMinutes(1)),
                settings.duration("alimi.auth.jwt.jwks-min-refresh-interval", JwtIdentities.JwksSettings.DEFAULT_MIN_INTERVAL,
                        Duration.ZERO, Duration.ofHours(1)))));
        Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
        List<String> names = settings.list("alimi.auth.jwt.jwks-algorithms");
        for (String name : names.isEmpty() ? List.of("RS256", "ES256") : names) {
            JWSAlgorithm algorithm = JWSAlgorithm.parse(name.strip().toUpperCase(Locale.ROOT));
            if (!JwtIdentities.ASYMMETRIC.contains(algorithm)) {
                throw new SettingsException("alimi.auth.jwt.jwks-algorithms", "'" + name
                        + "' is not an asymmetric JWS algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)");
            }
            algorithms.add(algorithm);
        }
        JwtIdentities.Checks checks = new JwtIdentities.Checks(
                settings.optionalString("alimi.auth.jwt.issuer"),
                settings.optionalString("alimi.auth.jwt.audience"),
                settings.duration("alimi.auth.jwt.clock-skew", JwtIdentities.Checks.DEFAULT_CLOCK_SKEW,
                        Duration.ZERO, Duration.ofMinutes(10)),
                claims);
        return Optional.of(new JwtIdentities(secret, jwks, algorithms, checks, Clock.systemUTC()));
    }

    private static Optional<IntrospectedIdentities> introspection(Settings settings, ClaimsMapping claims) {
        Optional<String> url = settings.optionalString("alimi.auth.introspection.url");
        if (url.isEmpty()) {
            return Optional.empty();
        }
        URI uri;
        try {
            uri = url(url.get(), "alimi.auth.introspection.url").toURI();
        } catch (URISyntaxException e) {
            throw new SettingsException("alimi.auth.introspection.url", "not a URL");
        }
        Duration ttl = settings.duration("alimi.auth.introspection.cache-ttl",
                IntrospectedIdentities.Settings.DEFAULT_TIME_TO_LIVE, Duration.ofSeconds(1), Duration.ofHours(24));
        Duration refresh = settings.duration("alimi.auth.introspection.refresh-after", ttl.multipliedBy(3).dividedBy(4),
                Duration.ofMillis(100), ttl.minusMillis(1));
        return Optional.of(new IntrospectedIdentities(new IntrospectedIdentities.Settings(
                uri,
                settings.optionalString("alimi.auth.introspection.authorization"),
                settings.duration("alimi.auth.introspection.timeout", IntrospectedIdentities.Settings.DEFAULT_TIMEOUT,
                        Duration.ofMillis(50), Duration.ofMinutes(1)),
                settings.integer("alimi.auth.introspection.cache-max-entries",
                        (int) IntrospectedIdentities.Settings.DEFAULT_MAX_ENTRIES, 1, 10_000_000),
                ttl,
                refresh,
                settings.duration("alimi.auth.introspection.negative-ttl",
                        IntrospectedIdentities.Settings.DEFAULT_NEGATIVE_TIME_TO_LIVE, Duration.ZERO, ttl),
                claims), Clock.systemUTC()));
    }

    private static URL url(String text, String key) {
        try {
            URI uri = new URI(text);
            if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())) {
                throw new SettingsException(key, "must be an http:// or https:// URL");
            }
            return uri.toURL();
        } catch (URISyntaxException | MalformedURLException | IllegalArgumentException e) {
            throw new SettingsException(key, "not a URL: " + e.getMessage());
        }
    }
}
