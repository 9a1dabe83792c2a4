package io.alimi.auth;

import io.alimi.event.Scope;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which claims of a token (a JWT's claims set, an introspection answer) hold the admin's profile. A claim name
 * may be a dotted path into nested objects ({@code realm_access.roles}).
 *
 * <p>The admin number is required. Malls and roles are arrays (or a single value, or a comma- or space-separated
 * string); the partner is a single value. Numbers are taken as their decimal text. Any id that is not a valid
 * scope id ({@code [A-Za-z0-9_-]{1,64}}) refuses the whole token: a profile is never silently narrowed or widened.
 *
 * @param admin   claim with the admin number
 * @param malls   claim with the malls the admin works for
 * @param partner claim with the partner the admin belongs to
 * @param roles   claim with the admin's roles
 */
public record ClaimsMapping(String admin, String malls, String partner, String roles) {

    public static final ClaimsMapping DEFAULT = new ClaimsMapping("sub", "malls", "partner", "roles");

    public ClaimsMapping {
        for (String name : new String[] {admin, malls, partner, roles}) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a claim name must not be empty");
            }
        }
    }

    /** The profile these claims describe, or empty when a required claim is missing or an id is invalid. */
    public Optional<Profile> profile(Map<String, Object> claims) {
        Optional<String> adminNo = id(claim(claims, admin));
        if (adminNo.isEmpty()) {
            return Optional.empty();
        }
        Optional<Set<String>> mallIds = ids(claim(claims, malls));
        if (mallIds.isEmpty()) {
            return Optional.empty();
        }
        Object partnerClaim = claim(claims, partner);
        Optional<String> partnerId = id(partnerClaim);
        if (partnerClaim != null && partnerId.isEmpty()) {
            return Optional.empty();
        }
        Set<String> roleNames = new LinkedHashSet<>();
        Object roleClaim = claim(claims, roles);
        if (roleClaim instanceof Collection<?> list) {
            list.forEach(role -> roleNames.add(String.valueOf(role)));
        } else if (roleClaim instanceof String text) {
            roleNames.addAll(split(text));
        }
        return Optional.of(new Profile(adminNo.get(), mallIds.get(), partnerId, roleNames));
    }

    private static Object claim(Map<String, Object> claims, String path) {
        Object value = claims;
        for (String part : path.split("\\.")) {
            if (!(value instanceof Map<?, ?> map)) {
                return null;
            }
            value = map.get(part);
        }
        return value;
    }

    private static Optional<Set<String>> ids(Object claim) {
        Set<String> ids = new LinkedHashSet<>();
        if (claim == null) {
            return Optional.of(ids);
        }
        Collection<?> values = claim instanceof Collection<?> list ? list
                : claim instanceof String text ? split(text) : java.util.List.of(claim);
        for (Object value : values) {
            Optional<String> id = id(value);
            if (id.isEmpty()) {
                return Optional.empty();
            }
            ids.add(id.get());
        }
        return Optional.of(ids);
    }

    private static Set<String> split(String text) {
        Set<String> parts = new LinkedHashSet<>();
        for (String part : text.split("[,\\s]+")) {
            if (!part.isEmpty()) {
                parts.add(part);
            }
        }
        return parts;
    }

    /** A claim usable as a scope id: a string or a whole number, of the scope id alphabet. */
    private static Optional<String> id(Object claim) {
        String text = claim instanceof String s ? s
                : claim instanceof Long || claim instanceof Integer ? claim.toString() : null;
        return text != null && Scope.validId(text) ? Optional.of(text) : Optional.empty();
    }
}
