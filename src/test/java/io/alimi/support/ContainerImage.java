package io.alimi.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A container image in {@code docker save} form (what {@code jib:buildTar} writes), unpacked into a directory and
 * run without a container engine: its layers are extracted in order into {@code root}, and its entry point is
 * started with its environment, confined to that root as far as this machine allows ({@link Runner}).
 *
 * <p>{@link #close()} deletes the directory, after checking nothing is mounted beneath it.
 */
public final class ContainerImage implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** How the entry point is confined, strongest first. */
    public enum Runner {
        /**
         * As root: a private mount namespace with {@code /proc} and {@code /dev} bound in (as a container runtime
         * provides them), then {@code chroot} as the image's user. Nothing of this machine's file system but those
         * two is visible, so the image must bring every file it needs.
         */
        CHROOT,
        /** Without root but with user namespaces: the same, as the namespace's root instead of the image's user. */
        USER_NAMESPACE,
        /**
         * Neither: the image's own dynamic loader runs its {@code java} with the image's C libraries, paths
         * rewritten into the root. Proves the runtime and libraries; the process still sees this machine's files.
         */
        LOADER;

        /** The strongest this machine allows. */
        public static Runner strongest() {
            if ("0".equals(run("id", "-u").strip())) {
                return CHROOT;
            }
            try {
                Process probe = new ProcessBuilder("unshare", "--map-root-user", "--mount", "true")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0) {
                    return USER_NAMESPACE;
                }
                probe.destroyForcibly();
            } catch (IOException e) {
                // no unshare(1)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return LOADER;
        }
    }

    private final Path dir;
    private final Path root;
    private final List<String> repoTags;
    private final JsonNode config;

    private ContainerImage(Path dir, Path root, List<String> repoTags, JsonNode config) {
        this.dir = dir;
        this.root = root;
        this.repoTags = repoTags;
        this.config = config;
    }

    /** Unpacks {@code archive} into a new temporary directory. */
    public static ContainerImage unpack(Path archive) {
        try {
            Path dir = Files.createTempDirectory("alimi-image-");
            Path layers = Files.createDirectories(dir.resolve("archive"));
            Path root = Files.createDirectories(dir.resolve("root"));
            tar(archive, layers);
            JsonNode manifest = JSON.readTree(layers.resolve("manifest.json").toFile()).get(0);
            JsonNode config = JSON.readTree(layers.resolve(manifest.get("Config").asText()).toFile()).get("config");
            for (JsonNode layer : manifest.get("Layers")) {
                tar(layers.resolve(layer.asText()), root);
            }
            List<String> tags = new ArrayList<>();
            manifest.get("RepoTags").forEach(tag -> tags.add(tag.asText()));
            return new ContainerImage(dir, root, List.copyOf(tags), config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path root() {
        return root;
    }

    public List<String> repoTags() {
        return repoTags;
    }

    /** {@code User} of the image's config, e.g. {@code 65532:65532}. */
    public String user() {
        return config.path("User").asText();
    }

    public List<String> entrypoint() {
        List<String> entrypoint = new ArrayList<>();
        config.path("Entrypoint").forEach(arg -> entrypoint.add(arg.asText()));
        return entrypoint;
    }

    /** A file of the image, as this machine sees it. */
    public Path file(String pathInImage) {
        return root.resolve(pathInImage.replaceFirst("^/+", ""));
    }

    /** {@code pathInImage} as the process started by {@code runner} sees it. */
    public String path(Runner runner, String pathInImage) {
        return runner == Runner.LOADER ? file(pathInImage).toString() : pathInImage;
    }

    /**
     * Starts the image's entry point, or {@code command} in its place when given, with the image's environment
     * plus {@code env}, its output going to {@code log}. The returned process is the JVM itself (the confining
     * commands replace themselves), so destroying it signals the JVM.
     */
    public Process start(Runner runner, List<String> command, Map<String, String> env, Path log) throws IOException {
        List<String> args = command.isEmpty() ? entrypoint() : command;
        List<String> full = new ArrayList<>();
        switch (runner) {
            case CHROOT, USER_NAMESPACE -> {
                Files.createDirectories(root.resolve("proc"));
                Files.createDirectories(root.resolve("dev"));
                full.addAll(runner == Runner.CHROOT ? List.of("unshare", "--mount", "--")
                        : List.of("unshare", "--map-root-user", "--mount", "--"));
                // What a container runtime provides: /proc, /dev, and the host names and name servers to use.
                full.addAll(List.of("sh", "-c", """
                        root=$1; user=$2; shift 2
                        mount --rbind /proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 125
                        for file in /etc/hosts /etc/resolv.conf; do
                          if [ -f "$file" ]; then : > "$root$file" && mount --bind "$file" "$root$file" || exit 125; fi
                        done
                        exec chroot ${user:+--userspec=$user} "$root" "$@"
                        """, "sh", root.toString(), runner == Runner.CHROOT ? user() : ""));
                full.addAll(args);
            }
            case LOADER -> {
                full.addAll(List.of(loader().toString(), "--library-path", String.join(":", libraryDirs()),
                        file(args.getFirst()).toString()));
                for (String arg : args.subList(1, args.size())) {
                    // The class path file names paths in the image: rewritten under the root. Others (the JVM
                    // options) are read as they are.
                    full.add(!arg.startsWith("@/") ? arg : arg.endsWith("classpath-file")
                            ? "@" + rootedArgFile(arg.substring(1)) : "@" + file(arg.substring(1)));
                }
            }
        }
        ProcessBuilder builder = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().clear();
        config.path("Env").forEach(entry -> {
            String[] pair = entry.asText().split("=", 2);
            builder.environment().put(pair[0], pair[1]);
        });
        builder.environment().putAll(env);
        if (runner == Runner.LOADER) {
            builder.directory(file(config.path("WorkingDir").asText("/")).toFile());
        }
        return builder.start();
    }

    /** The dynamic loader the image ships (it is what the kernel runs for an executable of the image). */
    private Path loader() throws IOException {
        for (String dir : List.of("lib64", "lib")) {
            try (Stream<Path> files = Files.list(root.resolve(dir))) {
                var found = files.filter(f -> f.getFileName().toString().startsWith("ld-linux")).findFirst();
                if (found.isPresent()) {
                    return found.get();
                }
            } catch (java.nio.file.NoSuchFileException e) {
                // not in this image
            }
        }
        throw new IllegalStateException("the image has no dynamic loader (lib64/ld-linux*, lib/ld-linux*)");
    }

    private List<String> libraryDirs() throws IOException {
        try (Stream<Path> files = Files.walk(root.resolve("lib"))) {
            return files.filter(f -> f.getFileName().toString().contains(".so"))
                    .map(f -> f.getParent().toString()).distinct().toList();
        }
    }

    /** A copy of the image's argument file (a class path) with its absolute paths moved into the root. */
    private Path rootedArgFile(String pathInImage) throws IOException {
        String content = Files.readString(file(pathInImage)).strip();
        List<String> rooted = new ArrayList<>();
        for (String entry : content.split(":")) {
            rooted.add(entry.startsWith("/") ? file(entry).toString() : entry);
        }
        Path copy = dir.resolve("rooted-" + Path.of(pathInImage).getFileName());
        Files.writeString(copy, String.join(":", rooted));
        return copy;
    }

    /** Stops {@code process} as a container runtime would: SIGTERM, then SIGKILL after {@code graceSeconds}. */
    public static int stop(Process process, long graceSeconds) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        return process.exitValue();
    }

    @Override
    public void close() throws IOException {
        // The bind mounts live in the runner's own mount namespace and vanish with it; never walk into one anyway.
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        for (String line : mounts.split("\n")) {
            String[] fields = line.split(" ");
            if (fields.length > 4 && (fields[4].equals(dir.toString()) || fields[4].startsWith(dir + "/"))) {
                throw new IllegalStateException(fields[4] + " is mounted; not deleting " + dir);
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }

    private static void tar(Path archive, Path into) {
        // GNU tar warns about libarchive's extended header keywords, which Jib writes; they carry nothing we need.
        String output = run("tar", "--warning=no-unknown-keyword", "-xf", archive.toString(), "-C", into.toString());
        if (!output.isBlank()) {
            throw new IllegalStateException("tar " + archive + ": " + output);
        }
    }

    private static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
