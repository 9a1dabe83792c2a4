package io.alimi.http;

import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The browser origins allowed to use Alimi besides its own: the back-office front ends
 * ({@code alimi.http.cors.allowed-origins}, e.g. {@code https://admin.example.com}).
 *
 * <p>A request without an {@code Origin} header (servers, curl) or from Alimi's own origin is always allowed. A
 * request from any other origin is refused outright (403), not merely left without CORS headers: a WebSocket or
 * a ticket URL is not protected by CORS at all, so the origin check is what stops a foreign page from opening a
 * stream with an admin's credentials.
 */
public final class Origins {

    private final Set<String> allowed;

    private Origins(Set<String> allowed) {
        this.allowed = Set.copyOf(allowed);
    }

    /** The back-office origins of {@code alimi.http.cors.allowed-origins}. */
    public static Origins from(io.alimi.config.Settings settings) {
        try {
            return of(settings.list("alimi.http.cors.allowed-origins"));
        } catch (IllegalArgumentException e) {
            throw new io.alimi.config.SettingsException("alimi.http.cors.allowed-origins", e.getMessage());
        }
    }

    /**
     * @param origins {@code scheme://host[:port]} each
     * @throws IllegalArgumentException naming an entry that is not an origin (a path, {@code *}, no scheme)
     */
    public static Origins of(List<String> origins) {
        Set<String> allowed = new LinkedHashSet<>();
        for (String origin : origins) {
            allowed.add(normalise(origin).orElseThrow(() -> new IllegalArgumentException("'" + origin
                    + "' is not an origin: write scheme://host[:port], for example https://admin.example.com")));
        }
        return new Origins(allowed);
    }

    /** Whether {@code origin} is one of the configured origins (not counting Alimi's own). */
    public boolean listed(String origin) {
        return normalise(origin).map(allowed::contains).orElse(false);
    }

    /**
     * Whether a request with these headers may go on: no origin, Alimi's own (the origin's host and port are the
     * request's {@code Host}), or a listed one.
     */
    public boolean allows(Optional<String> origin, Optional<String> host) {
        if (origin.isEmpty()) {
            return true;
        }
        if (listed(origin.get())) {
            return true;
        }
        try {
            URI uri = new URI(origin.get());
            if (uri.getHost() == null || host.isEmpty()) {
                return false;
            }
            String authority = uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
            String expected = host.get().toLowerCase(Locale.ROOT);
            return authority.toLowerCase(Locale.ROOT).equals(expected)
                    || (uri.getPort() < 0 && expected.equals(uri.getHost().toLowerCase(Locale.ROOT) + ":" + defaultPort(uri)));
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    public Set<String> allowed() {
        return allowed;
    }

    private static int defaultPort(URI uri) {
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static Optional<String> normalise(String origin) {
        try {
            URI uri = new URI(origin.strip());
            String scheme = uri.getScheme();
            if (scheme == null || uri.getHost() == null || (uri.getPath() != null && !uri.getPath().isEmpty())
                    || uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null
                    || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
                return Optional.empty();
            }
            String normal = scheme.toLowerCase(Locale.ROOT) + "://" + uri.getHost().toLowerCase(Locale.ROOT);
            if (uri.getPort() >= 0 && uri.getPort() != defaultPort(uri)) {
                normal += ":" + uri.getPort();
            }
            return Optional.of(normal);
        } catch (java.net.URISyntaxException e) {
            return Optional.empty();
        }
    }
}
