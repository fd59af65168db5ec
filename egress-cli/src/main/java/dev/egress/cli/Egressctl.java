package dev.egress.cli;

import dev.egress.enforcer.EgressException;
import dev.egress.policy.IpAddresses;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.net.InetAddress;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/** The {@code egressctl} command and its entry points. */
@Command(
    name = "egressctl",
    mixinStandardHelpOptions = true,
    version = "egressctl 0.1.0",
    description =
        "Egress control for agent containers: check policies, check the host, show and clean up rules.",
    subcommands = {
      CheckCommand.class,
      RenderCommand.class,
      DoctorCommand.class,
      VerifyCommand.class,
      StatusCommand.class,
      CleanupCommand.class,
      LogsCommand.class,
      SudoersCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      " 0:done; valid; the host can enforce; nothing needs attention",
      " 1:invalid input, or findings that need attention (drift, stale rule sets)",
      " 2:usage error",
      " 3:the host cannot enforce, or a privileged call failed",
      "70:internal error (a bug; -v prints the stack trace)"
    })
public final class Egressctl implements Runnable {
  @Spec private CommandSpec spec = CommandSpec.create();

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    // Before any logger exists: -v shows the library's debug lines (such as pfctl's chatter).
    if (java.util.Arrays.asList(args).contains("-v")
        || java.util.Arrays.asList(args).contains("--verbose")) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "debug");
    }
    System.exit(run(CliHost.system(), args));
  }

  /** Runs one command line against {@code host} and returns its exit status ({@link ExitCodes}). */
  public static int run(CliHost host, String... args) {
    return commandLine(host).execute(args);
  }

  static CommandLine commandLine(CliHost host) {
    CommandLine commandLine = new CommandLine(new Egressctl(), new Factory(host));
    commandLine.setOut(host.out());
    commandLine.setErr(host.err());
    commandLine.setColorScheme(
        Help.defaultColorScheme(host.colour() ? Help.Ansi.ON : Help.Ansi.OFF));
    commandLine.registerConverter(InetAddress.class, Egressctl::address);
    commandLine.setExecutionExceptionHandler(Egressctl::handle);
    commandLine.setParameterExceptionHandler(Egressctl::invalidInput);
    return commandLine;
  }

  private static InetAddress address(String text) {
    try {
      return IpAddresses.parse(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(String.valueOf(e.getMessage()));
    }
  }

  private static int handle(Exception e, CommandLine commandLine, ParseResult parseResult) {
    var err = commandLine.getErr();
    if (e instanceof CommandFailure failure) {
      failure.lines().forEach(line -> Output.diagnostic(err, line));
      return failure.exitCode();
    }
    if (e instanceof EgressException egress) {
      Output.diagnostic(err, "egressctl: " + egress.getMessage());
      return ExitCodes.CANNOT_ENFORCE;
    }
    Output.diagnostic(err, "egressctl: internal error: " + e);
    if (verbose(parseResult)) {
      e.printStackTrace(err);
    } else {
      err.println("run again with -v for the stack trace, and please report it");
    }
    err.flush();
    return ExitCodes.INTERNAL_ERROR;
  }

  /** Picocli's handling of usage errors, with the message printed as every diagnostic is. */
  private static int invalidInput(ParameterException e, String[] args) {
    CommandLine commandLine = e.getCommandLine();
    PrintWriter err = commandLine.getErr();
    Output.diagnostic(err, String.valueOf(e.getMessage()));
    if (!UnmatchedArgumentException.printSuggestions(e, err)) {
      commandLine.usage(err, commandLine.getColorScheme());
    }
    err.flush();
    return commandLine.getCommandSpec().exitCodeOnInvalidInput();
  }

  private static boolean verbose(ParseResult parseResult) {
    ParseResult command = parseResult;
    while (command.subcommand() != null) {
      command = command.subcommand();
    }
    return command.hasMatchedOption("-v");
  }

  /** Creates commands that take the {@link CliHost}; everything else the picocli way. */
  private record Factory(CliHost host) implements CommandLine.IFactory {
    @Override
    public <K> K create(Class<K> type) throws Exception {
      try {
        Constructor<K> constructor = type.getDeclaredConstructor(CliHost.class);
        return constructor.newInstance(host);
      } catch (NoSuchMethodException e) {
        return CommandLine.defaultFactory().create(type);
      }
    }
  }
}
