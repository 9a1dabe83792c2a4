package io.alimi.config;

/** A setting that cannot be used; the message starts with the key and says what is expected. */
public final class SettingsException extends RuntimeException {

    private final String key;

    public SettingsException(String key, String problem) {
        super(key + ": " + problem + " (environment variable " + Settings.envName(key) + ")");
        this.key = key;
    }

    public String key() {
        return key;
    }
}
