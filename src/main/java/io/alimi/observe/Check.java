package io.alimi.observe;

/**
 * The state of one part of a node, as the readiness endpoint reports it.
 *
 * @param name   e.g. {@code redis}, {@code bridge}
 * @param up     whether that part can do its work now
 * @param detail what an operator needs to know, e.g. why and since when it is down; never a secret
 */
public record Check(String name, boolean up, String detail) {

    public static Check up(String name, String detail) {
        return new Check(name, true, detail);
    }

    public static Check down(String name, String detail) {
        return new Check(name, false, detail);
    }
}
