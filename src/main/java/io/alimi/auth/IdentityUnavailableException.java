package io.alimi.auth;

/**
 * Whether a token is valid cannot be told right now (the admin service or the key set cannot be reached, or
 * answered nonsense). Callers answer 503, never 401: the token may well be good. The message never contains the
 * token.
 */
public final class IdentityUnavailableException extends RuntimeException {

    public IdentityUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
