package io.alimi.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.event.Scope;

import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Admin JSON Web Tokens signed with HS256 and a shared secret, verified locally.
 *
 * <p>Refused: any algorithm but HS256 ({@code none} and RS/ES tokens included, so no algorithm confusion), a bad
 * signature, no {@code exp}, an {@code exp} in the past or an {@code nbf} in the future (beyond the clock skew), an
 * {@code iss} or {@code aud} other than configured, a missing admin claim, ids that are not valid scope ids.
 */
public final class JwtIdentities implements Identities {

    /** The HMAC secret must be at least this long: HS256 is only as strong as its key. */
    public static final int MIN_SECRET_BYTES = 32;

    /**
     * @param secret     the HS256 key, at least {@value #MIN_SECRET_BYTES} bytes
     * @param issuer     required {@code iss}, if set
     * @param audience   required member of {@code aud}, if set
     * @param clockSkew  tolerance for {@code exp} and {@code nbf}
     * @param adminClaim claim holding the admin number (e.g. {@code sub})
     * @param mallsClaim claim holding the array of mall numbers
     * @param partnerClaim claim holding the partner number
     * @param rolesClaim claim holding the array of roles
     */
    public record Settings(byte[] secret, Optional<String> issuer, Optional<String> audience, Duration clockSkew,
                           String adminClaim, String mallsClaim, String partnerClaim, String rolesClaim) {

        public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);

        public Settings {
            if (secret.length < MIN_SECRET_BYTES) {
                throw new IllegalArgumentException("the HS256 secret must be at least " + MIN_SECRET_BYTES + " bytes");
            }
            secret = secret.clone();
        }
    }

    private final Settings settings;
    private final MACVerifier verifier;
    private final Clock clock;

    public JwtIdentities(Settings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        try {
            this.verifier = new MACVerifier(settings.secret());
        } catch (JOSEException e) {
            throw new IllegalArgumentException("the HS256 secret cannot be used: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Identity> resolve(String token) {
        if (token.chars().filter(c -> c == '.').count() != 2) {
            return Optional.empty();
        }
        try {
            SignedJWT jwt = SignedJWT.parse(token);
            // Pin the algorithm: the token's own header must never choose how it is checked.
            if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm()) || !jwt.verify(verifier)) {
                return Optional.empty();
            }
            JWTClaimsSet claims = jwt.getJWTClaimsSet();
            Instant now = clock.instant();
            Date exp = claims.getExpirationTime();
            if (exp == null || exp.toInstant().plus(settings.clockSkew()).isBefore(now)) {
                return Optional.empty();
            }
            Date nbf = claims.getNotBeforeTime();
            if (nbf != null && nbf.toInstant().minus(settings.clockSkew()).isAfter(now)) {
                return Optional.empty();
            }
            if (settings.issuer().isPresent() && !settings.issuer().get().equals(claims.getIssuer())) {
                return Optional.empty();
            }
            if (settings.audience().isPresent()
                    && (claims.getAudience() == null || !claims.getAudience().contains(settings.audience().get()))) {
                return Optional.empty();
            }
            return profile(claims).map(profile -> new Identity(profile, Optional.of(exp.toInstant())));
        } catch (ParseException | JOSEException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private Optional<Profile> profile(JWTClaimsSet claims) {
        Optional<String> adminNo = id(claims.getClaim(settings.adminClaim()));
        if (adminNo.isEmpty()) {
            return Optional.empty();
        }
        Set<String> malls = new LinkedHashSet<>();
        if (claims.getClaim(settings.mallsClaim()) instanceof List<?> list) {
            for (Object mall : list) {
                Optional<String> id = id(mall);
                if (id.isEmpty()) {
                    return Optional.empty();
                }
                malls.add(id.get());
            }
        }
        Object partnerClaim = claims.getClaim(settings.partnerClaim());
        Optional<String> partner = id(partnerClaim);
        if (partnerClaim != null && partner.isEmpty()) {
            return Optional.empty();
        }
        Set<String> roles = new LinkedHashSet<>();
        if (claims.getClaim(settings.rolesClaim()) instanceof List<?> list) {
            list.forEach(role -> roles.add(String.valueOf(role)));
        }
        return Optional.of(new Profile(adminNo.get(), malls, partner, roles));
    }

    /** A claim usable as a scope id: a string or a whole number of the scope id alphabet. */
    private static Optional<String> id(Object claim) {
        String text = claim instanceof String s ? s
                : claim instanceof Long || claim instanceof Integer ? claim.toString() : null;
        if (text == null) {
            return Optional.empty();
        }
        try {
            Scope.mall(text);
            return Optional.of(text);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
