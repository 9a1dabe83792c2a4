import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

/**
 * Builds the file tree the container image adds on top of its base: when the base is {@code scratch}, a Java
 * runtime cut down to Alimi's modules, the C libraries it and the native parts of Alimi's dependencies link
 * against (copied from this machine), an unprivileged user and {@code /tmp}. With any other base (one that brings
 * its own Java and C library, e.g. {@code eclipse-temurin:25-jre}) the tree is left empty.
 *
 * <p>Run by the build ({@code pom.xml}, phase {@code package}) with the JDK Maven's toolchain selected; that JDK's
 * {@code jlink} makes the runtime, so the image runs the same Java the tests run. By hand:
 * {@code java src/image/ImageRoot.java scratch target/image-root java.base,… target/lib amd64}.
 *
 * <p>The runtime is rebuilt only when the JDK, the module list or the dependency jars change.
 */
public final class ImageRoot {

    /** Where the runtime goes: the same place as in the eclipse-temurin images, so one entry point fits both. */
    static final String JAVA_HOME = "opt/java/openjdk";
    /** The unprivileged user the image runs as (the "nonroot" of distroless images). */
    static final int NONROOT = 65532;

    private ImageRoot() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: java src/image/ImageRoot.java BASE_IMAGE OUTPUT_DIR MODULES JAR_DIR ARCH");
            System.exit(2);
        }
        String base = args[0];
        Path root = Path.of(args[1]);
        String modules = args[2];
        Path jars = Path.of(args[3]);
        String arch = args[4];

        if (!base.equals("scratch")) {
            deleteTree(root);
            Files.createDirectories(root);
            System.out.println("[image] base image " + base + " brings its own Java: adding nothing under " + root);
            return;
        }
        String os = System.getProperty("os.name");
        String machine = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> System.getProperty("os.arch");
        };
        if (!os.equals("Linux") || !machine.equals(arch)) {
            System.err.printf("[image] a scratch image for linux/%s takes its runtime and C libraries from this machine,"
                    + " which is %s/%s: build it on linux/%s, set -Dimage.arch=%s, or use a base image with Java"
                    + " (-Dimage.base=eclipse-temurin:25-jre)%n", arch, os, machine, arch, machine);
            System.exit(2);
        }
        Path stamp = root.resolve(".stamp");
        // This very program is an input too (its source file, when run as `java ImageRoot.java`).
        Path self = Path.of(ImageRoot.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String inputs = String.join("\n", System.getProperty("java.home"), System.getProperty("java.runtime.version"),
                modules, String.join(",", jarNames(jars)), Integer.toHexString(Files.readString(self).hashCode()), "");
        if (Files.exists(stamp) && Files.readString(stamp).equals(inputs)) {
            System.out.println("[image] " + root + " is up to date");
            return;
        }
        deleteTree(root);
        Files.createDirectories(root);

        Path javaHome = root.resolve(JAVA_HOME);
        jlink(modules, javaHome);

        // Everything that is loaded as native code: the runtime's launcher and libraries, and the JNI libraries
        // Kafka's compression codecs unpack from their jars at run time (zstd, snappy, lz4).
        List<Path> elves = new ArrayList<>();
        try (Stream<Path> files = Files.walk(javaHome)) {
            files.filter(Files::isRegularFile).filter(ImageRoot::isElf).forEach(elves::add);
        }
        Path unpacked = Files.createTempDirectory("alimi-image-jni-");
        try {
            elves.addAll(jniLibraries(jars, unpacked));
            Set<String> provided = new TreeSet<>();
            for (Path elf : elves) {
                provided.add(elf.getFileName().toString());
            }
            Set<String> needed = new TreeSet<>();
            for (Path elf : elves) {
                needed.addAll(sharedLibraries(elf, provided));
            }
            for (String library : needed) {
                Path target = root.resolve(library.substring(1));
                Files.createDirectories(target.getParent());
                // Follows symbolic links: the image gets the file itself under the name the loader asks for.
                Files.copy(Path.of(library), target, StandardCopyOption.REPLACE_EXISTING);
            }
            System.out.println("[image] C libraries from this machine: " + needed);
        } finally {
            deleteTree(unpacked);
        }

        Path etc = Files.createDirectories(root.resolve("etc"));
        Files.writeString(etc.resolve("passwd"), """
                root:x:0:0:root:/root:/sbin/nologin
                nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
                nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin
                """.formatted(NONROOT, NONROOT));
        Files.writeString(etc.resolve("group"), """
                root:x:0:
                nobody:x:65534:
                nonroot:x:%d:
                """.formatted(NONROOT));
        // Host names from /etc/hosts first, then DNS (the container runtime provides both files).
        Files.writeString(etc.resolve("nsswitch.conf"), "hosts: files dns\n");
        Files.createDirectories(root.resolve("home/nonroot"));
        Files.createDirectories(root.resolve("tmp"));

        Files.writeString(stamp, inputs);
    }

    private static void jlink(String modules, Path output) {
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElseThrow(
                () -> new IllegalStateException("this JDK (" + System.getProperty("java.home") + ") has no jlink"));
        long started = System.nanoTime();
        int status = jlink.run(System.out, System.err, "--add-modules", modules, "--output", output.toString(),
                "--strip-debug", "--no-header-files", "--no-man-pages");
        if (status != 0) {
            throw new IllegalStateException("jlink failed (exit " + status + ")");
        }
        System.out.printf("[image] jlink: Java %s with %s in %d ms%n", System.getProperty("java.runtime.version"),
                modules, (System.nanoTime() - started) / 1_000_000);
    }

    /** Linux JNI libraries for this machine's CPU inside {@code jars}, unpacked into {@code into}. */
    private static List<Path> jniLibraries(Path jars, Path into) throws IOException {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        List<String> cpu = arch.equals("amd64") || arch.equals("x86_64") ? List.of("amd64", "x86_64", "x86-64")
                : List.of(arch, arch.equals("aarch64") ? "arm64" : arch);
        List<Path> found = new ArrayList<>();
        for (String name : jarNames(jars)) {
            try (ZipFile jar = new ZipFile(jars.resolve(name).toFile())) {
                for (var entry : jar.stream().toList()) {
                    String path = entry.getName().toLowerCase(Locale.ROOT);
                    if (entry.isDirectory() || !path.endsWith(".so") || !path.contains("linux")
                            || path.contains("musl") || cpu.stream().noneMatch(c -> path.contains("/" + c + "/"))) {
                        continue;
                    }
                    Path target = into.resolve(found.size() + "-" + Path.of(entry.getName()).getFileName());
                    try (InputStream in = jar.getInputStream(entry)) {
                        Files.copy(in, target);
                    }
                    found.add(target);
                }
            }
        }
        return found;
    }

    /**
     * The absolute paths of the shared libraries {@code elf} needs, as the loader names them (including the loader
     * itself), according to {@code ldd}; names in {@code provided} come with the runtime.
     */
    private static List<String> sharedLibraries(Path elf, Set<String> provided) throws IOException, InterruptedException {
        Process ldd = new ProcessBuilder("ldd", elf.toString()).redirectErrorStream(true).start();
        String output = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (ldd.waitFor() != 0) {
            throw new IllegalStateException("ldd " + elf + " failed: " + output);
        }
        List<String> libraries = new ArrayList<>();
        for (String line : output.strip().split("\n")) {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)",
            // "linux-vdso.so.1 (0x…)" (in the kernel), "libjvm.so => not found" (loaded by the runtime itself).
            String[] words = line.strip().split("\\s+");
            if (words.length >= 3 && words[1].equals("=>")) {
                if (provided.contains(words[0])) {
                    continue;
                }
                if (words[2].startsWith("/")) {
                    libraries.add(words[2]);
                } else {
                    throw new IllegalStateException(elf + " needs " + words[0] + ", which this machine lacks");
                }
            } else if (words[0].startsWith("/")) {
                libraries.add(words[0]);
            }
        }
        return libraries;
    }

    private static boolean isElf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> jarNames(Path jars) throws IOException {
        try (Stream<Path> files = Files.list(jars)) {
            return files.map(file -> file.getFileName().toString()).filter(name -> name.endsWith(".jar")).sorted().toList();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }
}
