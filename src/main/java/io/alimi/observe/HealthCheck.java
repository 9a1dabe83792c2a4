package io.alimi.observe;

/** Reports one part's state; must answer within a second and never throw. */
@FunctionalInterface
public interface HealthCheck {

    Check check();
}
