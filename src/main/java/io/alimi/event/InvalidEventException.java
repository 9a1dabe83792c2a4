package io.alimi.event;

/** An event that breaks a rule; the message is {@code <field>: <rule>} and is safe to show to the producer. */
public final class InvalidEventException extends Exception {

    private final String field;
    private final String rule;

    public InvalidEventException(String field, String rule) {
        super(field + ": " + rule, null, false, false);
        this.field = field;
        this.rule = rule;
    }

    /** The member or header at fault, e.g. {@code targets}, {@code data}, {@code header ce_id}, {@code body}. */
    public String field() {
        return field;
    }

    public String rule() {
        return rule;
    }
}
