package io.alimi.limit;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which address a client connects from, for per-address limits. Behind a load balancer every connection comes
 * from the balancer: when the peer is one of the trusted proxies ({@code alimi.http.trusted-proxies}, addresses or
 * CIDR ranges), the client is the right-most address of {@code X-Forwarded-For} that is not itself a trusted proxy.
 * {@code X-Forwarded-For} from anyone else is ignored: a client cannot pick its own address.
 */
public final class ClientAddress {

    private record Range(byte[] network, int prefix) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int whole = prefix / 8;
            for (int i = 0; i < whole; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = (0xFF << (8 - rest)) & 0xFF;
            return (address[whole] & mask) == (network[whole] & mask);
        }
    }

    public static final ClientAddress DIRECT = new ClientAddress(List.of());

    private final List<Range> trusted;

    private ClientAddress(List<Range> trusted) {
        this.trusted = List.copyOf(trusted);
    }

    /** The proxies of {@code alimi.http.trusted-proxies}. */
    public static ClientAddress from(io.alimi.config.Settings settings) {
        try {
            return trusting(settings.list("alimi.http.trusted-proxies"));
        } catch (IllegalArgumentException e) {
            throw new io.alimi.config.SettingsException("alimi.http.trusted-proxies", e.getMessage());
        }
    }

    /**
     * @param proxies IP addresses or CIDR ranges ({@code 10.0.0.0/8}, {@code fd00::/8})
     * @throws IllegalArgumentException naming an entry that is neither
     */
    public static ClientAddress trusting(List<String> proxies) {
        List<Range> ranges = new ArrayList<>();
        for (String entry : proxies) {
            String text = entry.strip();
            int slash = text.indexOf('/');
            byte[] network = literal(slash < 0 ? text : text.substring(0, slash))
                    .orElseThrow(() -> new IllegalArgumentException("'" + entry + "' is not an IP address or CIDR range"));
            int prefix = network.length * 8;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(text.substring(slash + 1));
                } catch (NumberFormatException e) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > network.length * 8) {
                    throw new IllegalArgumentException("'" + entry + "' has an invalid prefix length");
                }
            }
            ranges.add(new Range(network, prefix));
        }
        return new ClientAddress(ranges);
    }

    /** The client's address, as text. */
    public String of(SocketAddress peer, Optional<String> forwardedFor) {
        String direct = peer instanceof InetSocketAddress inet && inet.getAddress() != null
                ? inet.getAddress().getHostAddress() : String.valueOf(peer);
        if (trusted.isEmpty() || forwardedFor.isEmpty() || !(peer instanceof InetSocketAddress inet)
                || inet.getAddress() == null || !isTrusted(inet.getAddress().getAddress())) {
            return direct;
        }
        String[] hops = forwardedFor.get().split(",");
        String client = direct;
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].strip();
            Optional<byte[]> address = literal(hop);
            if (address.isEmpty()) {
                return client;
            }
            client = canonical(address.get());
            if (!isTrusted(address.get())) {
                return client;
            }
        }
        return client;
    }

    /**
     * The client a per-address limit counts for {@code address} (as {@link #of} gives it): an IPv4 address itself,
     * an IPv6 address its network of {@code ipv6Prefix} bits ({@code 2001:db8:0:0:0:0:0:0/64}), since one subscriber
     * is given a whole /64 and picks any address in it. Anything else (a Unix socket's name) is its own client.
     */
    public static String network(String address, int ipv6Prefix) {
        if (address.indexOf(':') < 0 || ipv6Prefix >= 128) {
            return address;
        }
        int zone = address.indexOf('%');
        Optional<byte[]> bytes = literal(zone < 0 ? address : address.substring(0, zone));
        if (bytes.isEmpty() || bytes.get().length != 16) {
            return address;
        }
        byte[] network = bytes.get();
        for (int bit = ipv6Prefix; bit < 128; bit++) {
            network[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return canonical(network) + "/" + ipv6Prefix;
    }

    private boolean isTrusted(byte[] address) {
        for (Range range : trusted) {
            if (range.contains(address)) {
                return true;
            }
        }
        return false;
    }

    private static String canonical(byte[] address) {
        try {
            return InetAddress.getByAddress(address).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of 4 or 16 bytes", e);
        }
    }

    /** The bytes of an IP literal; never a name lookup. */
    private static Optional<byte[]> literal(String text) {
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        boolean v4 = bare.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = bare.indexOf(':') >= 0 && bare.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByName(bare).getAddress());
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }
}
