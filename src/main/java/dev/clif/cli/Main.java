package dev.clif.cli;

import dev.clif.ClifException;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `clif` command line. Bad input ends with one line on stderr and exit code 2, never a stack trace. */
@Command(name = "clif", mixinStandardHelpOptions = true, versionProvider = VersionCommand.Provider.class,
        description = "Purge unsafe concepts from Stable Diffusion models with directional-CLIP-loss fine-tuning.",
        subcommands = {VersionCommand.class, InspectCommand.class, GenerateCommand.class, CheckGoldenCommand.class, ShapesCommand.class,
                PurgeCommand.class, ApplyDeltaCommand.class, EvalCommand.class, AttackCommand.class, ReportCommand.class, ConvertCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for bad input and failures to do what was asked. */
    public static final int EXIT_BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            err.println("clif: " + oneLine(ex));
            err.flush();
            if (!(ex instanceof ClifException) && !(ex instanceof IllegalArgumentException) && Boolean.getBoolean("clif.debug"))
                ex.printStackTrace(err);
            return EXIT_BAD_INPUT;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("clif: " + oneLine(ex) + " (see clif " + ex.getCommandLine().getCommandName() + " --help)");
            err.flush();
            return EXIT_BAD_INPUT;
        });
        return cl;
    }

    static String oneLine(Throwable ex) {
        String m = ex.getMessage();
        if (m == null || m.isBlank()) m = ex.getClass().getSimpleName();
        return m.replaceAll("\\s*\\R\\s*", " ");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
