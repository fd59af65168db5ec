package dev.egress.daemon.wire;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The commands of protocol version 1 with their arguments, decoded from a {@link Request} into the
 * library's validated types: an argument that is not a valid id, address or policy reference is an
 * {@code invalid-request} error naming its field, so that nothing invalid reaches the enforcer.
 */
public sealed interface Command {
  /** The most ids one {@code reconcile} may list. */
  int MAX_LIVE_IDS = 100_000;

  /**
   * Carries out a command: one method per command, so that a command added here fails to compile
   * wherever it is not handled.
   *
   * @param <R> what carrying out a command gives
   */
  interface Handler<R> {
    R version() throws RequestException;

    R attach(Attach attach) throws RequestException;

    R update(Update update) throws RequestException;

    R detach(Detach detach) throws RequestException;

    R reconcile(Reconcile reconcile) throws RequestException;

    R status() throws RequestException;

    R check(Check check) throws RequestException;

    R subscribe() throws RequestException;
  }

  /** Calls the method of {@code handler} for this command. */
  <R> R accept(Handler<R> handler) throws RequestException;

  /** {@code version}. */
  record Version() implements Command {
    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.version();
    }
  }

  /** {@code attach}. */
  record Attach(ContainerEndpoint container, PolicyRef policy) implements Command {
    public Attach {
      Objects.requireNonNull(container, "container");
      Objects.requireNonNull(policy, "policy");
    }

    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.attach(this);
    }
  }

  /** {@code update}. */
  record Update(ContainerId containerId, PolicyRef policy) implements Command {
    public Update {
      Objects.requireNonNull(containerId, "containerId");
      Objects.requireNonNull(policy, "policy");
    }

    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.update(this);
    }
  }

  /** {@code detach}. */
  record Detach(ContainerId containerId) implements Command {
    public Detach {
      Objects.requireNonNull(containerId, "containerId");
    }

    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.detach(this);
    }
  }

  /** {@code reconcile}. */
  record Reconcile(Set<ContainerId> liveContainerIds) implements Command {
    public Reconcile {
      liveContainerIds = Set.copyOf(liveContainerIds);
    }

    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.reconcile(this);
    }
  }

  /** {@code status}. */
  record Status() implements Command {
    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.status();
    }
  }

  /** {@code check}. */
  record Check(String text) implements Command {
    public Check {
      Objects.requireNonNull(text, "text");
    }

    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.check(this);
    }
  }

  /** {@code subscribe}. */
  record Subscribe() implements Command {
    @Override
    public <R> R accept(Handler<R> handler) throws RequestException {
      return handler.subscribe();
    }
  }

  /**
   * The command {@code request} asks for.
   *
   * @throws RequestException unknown-command, or invalid-request naming the field at fault
   */
  static Command of(Request request) throws RequestException {
    Args args = request.args();
    switch (request.command()) {
      case "version":
        args.only(Set.of());
        return new Version();
      case "attach":
        args.only(Set.of("container", "policy"));
        return new Attach(
            Values.container(args.object("container")), PolicyRef.read(args, "policy"));
      case "update":
        args.only(Set.of("containerId", "policy"));
        return new Update(Values.containerId(args, "containerId"), PolicyRef.read(args, "policy"));
      case "detach":
        args.only(Set.of("containerId"));
        return new Detach(Values.containerId(args, "containerId"));
      case "reconcile":
        args.only(Set.of("liveContainerIds"));
        Set<ContainerId> live = new LinkedHashSet<>();
        for (String id : args.strings("liveContainerIds", MAX_LIVE_IDS)) {
          live.add(Values.containerId(id, args.pathOf("liveContainerIds")));
        }
        return new Reconcile(live);
      case "status":
        args.only(Set.of());
        return new Status();
      case "check":
        args.only(Set.of("text"));
        return new Check(args.string("text"));
      case "subscribe":
        args.only(Set.of());
        return new Subscribe();
      default:
        throw RequestException.withDetail(
            ErrorCode.UNKNOWN_COMMAND,
            "no command "
                + dev.egress.policy.UserText.quote(request.command())
                + ": protocol version 1 has version, attach, update, detach, reconcile, status,"
                + " check and subscribe",
            "command",
            request.command());
    }
  }
}
