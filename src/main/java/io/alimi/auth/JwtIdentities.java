package io.alimi.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;

import javax.crypto.spec.SecretKeySpec;
import java.net.URL;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Admin JSON Web Tokens, verified locally: HS256 with a shared secret, and RS256/ES256 (or other configured
 * asymmetric algorithms) with the keys of a JWKS URL, fetched once, cached, refreshed ahead of expiry and again
 * when a token names a key id it has not seen (key rotation), at most once per rate-limit interval.
 *
 * <p>The token's header never chooses how it is checked beyond picking among the configured algorithms: HS256
 * is only ever verified with the configured secret, the asymmetric algorithms only with JWKS keys of their own
 * type, so an RS256 public key can never serve as an HMAC secret (algorithm confusion) and {@code alg: none} is
 * not a JWS at all. Refused as well: a bad signature, no {@code exp}, an {@code exp} in the past or an
 * {@code nbf} in the future (beyond the clock skew), an {@code iss} or {@code aud} other than configured, a
 * missing admin claim, ids that are not valid scope ids.
 *
 * <p>When the JWKS URL cannot be reached and no key is cached for a token, {@link #resolve} throws
 * {@link IdentityUnavailableException} (503, not 401).
 */
public final class JwtIdentities implements Identities {

    /** The HMAC secret must be at least this long: HS256 is only as strong as its key. */
    public static final int MIN_SECRET_BYTES = 32;
    public static final Set<JWSAlgorithm> DEFAULT_JWKS_ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);
    /** Algorithms a JWKS may be trusted for: asymmetric ones only. */
    public static final Set<JWSAlgorithm> ASYMMETRIC = Set.copyOf(JWSAlgorithm.Family.SIGNATURE);

    /**
     * What every token must satisfy, whatever signed it.
     *
     * @param issuer    required {@code iss}, if set
     * @param audience  required member of {@code aud}, if set
     * @param clockSkew tolerance for {@code exp} and {@code nbf}
     * @param claims    where the profile is in the claims
     */
    public record Checks(Optional<String> issuer, Optional<String> audience, Duration clockSkew, ClaimsMapping claims) {
        public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
    }

    /**
     * How the JWKS URL is read.
     *
     * @param timeToLive  how long fetched keys are used before they are fetched again (refreshed ahead of time)
     * @param timeout     connect and read timeout of one fetch
     * @param minInterval fetches for an unknown key id are at most this frequent
     */
    public record JwksSettings(URL url, Duration timeToLive, Duration timeout, Duration minInterval) {
        public static final Duration DEFAULT_TIME_TO_LIVE = Duration.ofMinutes(5);
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
        public static final Duration DEFAULT_MIN_INTERVAL = Duration.ofSeconds(30);
    }

    private final Checks checks;
    private final Clock clock;
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

    /**
     * @param hs256Secret    the HS256 key, at least {@value #MIN_SECRET_BYTES} bytes, if HS256 tokens are accepted
     * @param jwks           the source of asymmetric keys, if such tokens are accepted
     * @param jwksAlgorithms the algorithms accepted with JWKS keys (asymmetric only)
     */
    public JwtIdentities(Optional<byte[]> hs256Secret, Optional<JWKSource<SecurityContext>> jwks,
                         Set<JWSAlgorithm> jwksAlgorithms, Checks checks, Clock clock) {
        if (hs256Secret.isEmpty() && jwks.isEmpty()) {
            throw new IllegalArgumentException("neither an HS256 secret nor a JWKS URL is configured");
        }
        if (hs256Secret.isPresent() && hs256Secret.get().length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("the HS256 secret must be at least " + MIN_SECRET_BYTES + " bytes");
        }
        for (JWSAlgorithm algorithm : jwksAlgorithms) {
            if (!ASYMMETRIC.contains(algorithm)) {
                throw new IllegalArgumentException("JWKS keys can only be trusted for asymmetric algorithms, not " + algorithm);
            }
        }
        this.checks = checks;
        this.clock = clock;
        List<Key> hmac = hs256Secret.<List<Key>>map(secret -> List.of(new SecretKeySpec(secret.clone(), "HmacSHA256")))
                .orElse(List.of());
        JWSKeySelector<SecurityContext> remote = jwks
                .<JWSKeySelector<SecurityContext>>map(source -> new JWSVerificationKeySelector<>(Set.copyOf(jwksAlgorithms), source))
                .orElse((header, context) -> List.of());
        processor.setJWSKeySelector((header, context) -> JWSAlgorithm.HS256.equals(header.getAlgorithm())
                ? hmac
                : remote.selectJWSKeys(header, context));
        processor.setJWTClaimsSetVerifier((claims, context) -> verify(claims));
        // Plain JWTs and OAuth access tokens (RFC 9068); any other declared type is not an admin token.
        processor.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
    }

    public static JwtIdentities hs256(byte[] secret, Checks checks, Clock clock) {
        return new JwtIdentities(Optional.of(secret), Optional.empty(), Set.of(), checks, clock);
    }

    /** A cached, refreshing, rate-limited key source over a JWKS URL. */
    public static JWKSource<SecurityContext> remoteKeys(JwksSettings settings) {
        int timeout = (int) settings.timeout().toMillis();
        return JWKSourceBuilder.<SecurityContext>create(settings.url(), new DefaultResourceRetriever(timeout, timeout, 512 * 1024))
                .cache(settings.timeToLive().toMillis(), timeout)
                .refreshAheadCache(true)
                .rateLimited(settings.minInterval().toMillis())
                .retrying(true)
                .build();
    }

    @Override
    public Optional<Identity> resolve(String token) {
        if (token.chars().filter(c -> c == '.').count() != 2) {
            return Optional.empty();
        }
        try {
            SignedJWT jwt = SignedJWT.parse(token);
            JWTClaimsSet claims = processor.process(jwt, null);
            return checks.claims().profile(claims.getClaims())
                    .map(profile -> new Identity(profile, Optional.of(claims.getExpirationTime().toInstant())));
        } catch (KeySourceException e) {
            throw new IdentityUnavailableException("the JWKS keys cannot be fetched: " + e.getMessage(), null);
        } catch (ParseException | BadJOSEException | JOSEException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private void verify(JWTClaimsSet claims) throws BadJWTException {
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new BadJWTException("no exp");
        }
        if (exp.toInstant().plus(checks.clockSkew()).isBefore(now)) {
            throw new BadJWTException("expired");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().minus(checks.clockSkew()).isAfter(now)) {
            throw new BadJWTException("not yet valid");
        }
        if (checks.issuer().isPresent() && !checks.issuer().get().equals(claims.getIssuer())) {
            throw new BadJWTException("wrong issuer");
        }
        if (checks.audience().isPresent()
                && (claims.getAudience() == null || !claims.getAudience().contains(checks.audience().get()))) {
            throw new BadJWTException("wrong audience");
        }
    }
}
