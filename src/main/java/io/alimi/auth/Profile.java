package io.alimi.auth;

import io.alimi.event.Scope;

import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Who an admin is, as far as Alimi cares.
 *
 * @param adminNo the operator's number
 * @param malls   the malls they work for
 * @param partner the partner they belong to, if any
 * @param roles   their roles (informational for now)
 */
public record Profile(String adminNo, Set<String> malls, Optional<String> partner, Set<String> roles) {

    public Profile {
        malls = Set.copyOf(malls);
        roles = Set.copyOf(roles);
    }

    /**
     * The scopes this admin may follow: everyone's, their own, each of their malls' and their partner's.
     *
     * @throws IllegalArgumentException if an id is not a valid scope id
     */
    public Set<Scope> scopes() {
        Set<Scope> scopes = new LinkedHashSet<>();
        scopes.add(Scope.ALL);
        scopes.add(Scope.admin(adminNo));
        malls.stream().sorted().forEach(mall -> scopes.add(Scope.mall(mall)));
        partner.ifPresent(p -> scopes.add(Scope.partner(p)));
        return scopes;
    }
}
