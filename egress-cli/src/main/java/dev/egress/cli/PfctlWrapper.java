package dev.egress.cli;

import dev.egress.pf.pfctl.Pfctl;
import dev.egress.pf.pfctl.TableName;
import dev.egress.pf.render.LoadGrammar;
import dev.egress.pf.render.LoadScope;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A root-owned shell script that runs pfctl only with the argument lists egress-pf's {@code Pfctl}
 * driver uses, and loads only text of the shapes egress-pf renders for the managed networks, for a
 * sudoers entry that names the script instead of pfctl.
 *
 * <p>Arguments: sudoers cannot list the calls exactly ({@code *} in its arguments matches spaces
 * too, so {@code /sbin/pfctl -a com.apple/000.egress/*} would also permit {@code -a
 * com.apple/000.egress/x -F all -d}). The script checks that no argument holds anything but a
 * strict character set (so that joining them with single spaces is unambiguous) and matches the
 * whole list against one anchored regular expression per call. Anchor and table patterns come from
 * egress-pf's name types ({@link dev.egress.pf.pfctl.AnchorPath#childPattern}, {@link
 * TableName#PATTERN}); {@code -k} takes only addresses inside the scope's networks; {@code -T add}
 * and {@code -T delete} (a DNS filter's grants and their revocation) take 1 to {@link
 * Pfctl#MAX_TABLE_ADDRESSES} address literals, each parsed strictly (no network, host name,
 * negation or option).
 *
 * <p>Text: for the three loads ({@code -a PARENT -f -}, {@code -a CHILD -f -}, {@code -a CHILD -t T
 * -T replace -f -}) the script first copies standard input into a new private file in the state
 * directory, checks it against {@link LoadGrammar} (the shapes' regular expressions are compiled
 * into the script, so the renderer and the script cannot disagree) and the scope, then opens the
 * checked file as pfctl's standard input, unlinks it and execs pfctl, so that sudo's signals reach
 * pfctl itself. A load cut short lacks {@link Pfctl#END_OF_LOAD} and is refused whole.
 *
 * <p>Enable references: {@code -E} passes ({@code prepare} takes one when pf is disabled, and never
 * releases it); {@code -X} is refused whatever the token: releasing the last reference switches pf
 * off, and every container's rules and the guard with it (xnu's {@code DIOCSTOPREF}), so the
 * launcher's user must not be able to. Root releases a reference with {@code pfctl -X}.
 *
 * <p>The state directory holds loads being checked. The script refuses to use it unless it and
 * every directory above it (after symbolic links are resolved) can be changed by root alone: owned
 * by root, no ACL, not writable by group or others, except that a directory above it may be a
 * sticky one such as {@code /tmp}. Files in it are only ever created under new random names, never
 * written through an existing name. Run without sudo, the script applies the same rules with its
 * own user in root's place (it can then do nothing a user cannot).
 *
 * <p>The script is written for bash 3.2, the {@code /bin/bash} of macOS.
 *
 * @param pfctl absolute path of the real pfctl
 * @param parent the anchor egress-pf loads its guard into, strictly below {@code com.apple/}
 * @param stateDirectory absolute path of a directory only root can change, for the script's state
 * @param scope the networks container rules may name as sources, the bridges a guard may block, and
 *     the DNS filter, the only address a container's port-53 redirect may name (none: no redirect)
 */
record PfctlWrapper(String pfctl, ParentAnchor parent, String stateDirectory, LoadScope scope) {
  private static final Pattern ABSOLUTE_PATH = Pattern.compile("(/[A-Za-z0-9_.-]+)+");

  PfctlWrapper {
    requireAbsolutePath(pfctl, "pfctl");
    requireAbsolutePath(stateDirectory, "state directory");
    Objects.requireNonNull(parent, "parent");
    Objects.requireNonNull(scope, "scope");
    PfOptions.requireBelowComApple(parent.path());
  }

  /**
   * @throws IllegalArgumentException unless {@code path} is absolute and made of components of
   *     letters, digits, {@code _ . -} only, none of them {@code .} or {@code ..}
   */
  static void requireAbsolutePath(String path, String what) {
    if (!ABSOLUTE_PATH.matcher(path).matches()
        || path.contains("/../")
        || path.contains("/./")
        || path.endsWith("/..")
        || path.endsWith("/.")) {
      throw new IllegalArgumentException(
          "the "
              + what
              + " must be an absolute path of components of letters, digits, '_', '.' and '-'"
              + " (not '.' or '..'), got '"
              + path
              + "'");
    }
  }

  /** The script text. */
  String script() {
    InetAddress dnsFilter = scope.dnsFilter();
    return """
        #!/bin/bash
        # egressctl pfctl wrapper: runs %1$s only with the argument lists egress-pf uses, and
        # loads only text of the shapes egress-pf renders, with source addresses in the managed
        # networks below. Generated by 'egressctl sudoers --wrapper'; sudoers pins its SHA-256, so
        # regenerate rather than edit it. Install root-owned and not writable by others (chown
        # root:wheel, chmod 755). Written for bash 3.2, the /bin/bash of macOS.
        set -u -f
        umask 077
        export LC_ALL=C
        unset CDPATH
        PATH=/usr/bin:/bin:/usr/sbin:/sbin
        readonly PFCTL='%1$s'
        readonly STATE='%2$s'
        readonly PARENT='%3$s'
        readonly CHILD='%4$s'
        readonly TABLE='%5$s'
        readonly MANAGED='%6$s'
        readonly BRIDGES='%7$s'
        readonly MAX_LOAD_BYTES=%8$d
        readonly END_OF_LOAD='%9$s'
        readonly V4='%10$s'
        readonly MAX_TABLE_ADDRESSES=%12$d
        readonly DNS_FILTER='%13$s'
        REASON=
        STATE_DIR=
        LOAD_FILE=

        refuse() {
          echo "egressctl-pfctl: refused: $1 (only egress-pf's own pfctl calls and rules are allowed)" >&2
          exit 64
        }

        # The lines each load may hold besides its end line (egress-pf's LoadGrammar): SHAPES[i]
        # is a whole line; CHECKS[i] lists GROUP:CHECK, a captured part and the check it passes.
        shapes() {
          case $1 in
        %11$s
          esac
        }

        # Sets WORDS to address $1 as 16-bit numbers, 2 for a dotted quad, 8 for IPv6; fails for
        # anything else.
        address_words() {
          local text=$1 head tail expanded count colons group
          WORDS=
          if [[ $text =~ ^$V4$ ]]; then
            local IFS=.
            set -- $text
            WORDS="$(( $1 * 256 + $2 )) $(( $3 * 256 + $4 ))"
            return 0
          fi
          [[ $text =~ ^[0-9a-f:]{2,39}$ ]] || return 1
          case $text in *::*::*) return 1 ;; esac
          expanded=$text
          if [[ $text == *::* ]]; then
            head=${text%%%%::*}
            tail=${text#*::}
            count=0
            if [ -n "$head" ]; then colons=${head//[!:]/}; count=$(( count + ${#colons} + 1 )); fi
            if [ -n "$tail" ]; then colons=${tail//[!:]/}; count=$(( count + ${#colons} + 1 )); fi
            [ "$count" -le 7 ] || return 1
            expanded=$head
            while [ "$count" -lt 8 ]; do
              expanded=${expanded:+$expanded:}0
              count=$(( count + 1 ))
            done
            if [ -n "$tail" ]; then expanded=$expanded:$tail; fi
          fi
          [[ $expanded =~ ^([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}$ ]] || return 1
          local IFS=:
          for group in $expanded; do WORDS="$WORDS $(( 16#$group ))"; done
          WORDS=${WORDS# }
        }

        # Whether the word lists $1 and $2 (of one family) agree in their first $3 bits.
        same_prefix() {
          local -a a b
          local i=0 left=$3 keep mask
          a=( $1 )
          b=( $2 )
          [ "${#a[@]}" -eq "${#b[@]}" ] || return 1
          while [ "$left" -gt 0 ]; do
            keep=$(( left < 16 ? left : 16 ))
            mask=$(( (0xffff << (16 - keep)) & 0xffff ))
            [ $(( a[i] & mask )) -eq $(( b[i] & mask )) ] || return 1
            left=$(( left - keep ))
            i=$(( i + 1 ))
          done
        }

        # Whether address or network $1 (ADDRESS or ADDRESS/PREFIX) lies inside a managed network.
        inside_managed() {
          local token=$1 words bits prefix network
          address_words "${token%%%%/*}" || return 1
          words=$WORDS
          set -- $words
          bits=$(( $# * 16 ))
          prefix=$bits
          if [[ $token == */* ]]; then
            prefix=${token#*/}
            [[ $prefix =~ ^(0|[1-9][0-9]{0,2})$ ]] && [ "$prefix" -le "$bits" ] || return 1
          fi
          for network in $MANAGED; do
            address_words "${network%%%%/*}" || return 1
            [ "$prefix" -ge "${network#*/}" ] && same_prefix "$words" "$WORDS" "${network#*/}" && return 0
          done
          return 1
        }

        # The checks a shape's captured part may have to pass.
        check_managed() {
          local separators='[{},]' token found=
          for token in ${1//$separators/ }; do
            inside_managed "$token" || return 1
            found=yes
          done
          [ -n "$found" ]
        }

        # Whether $1 is an IPv6 /64 on a managed network's link: its first 64 bits agree with a
        # managed IPv6 network's first min(64, prefix) bits.
        check_on_link() {
          local words network bits
          [[ $1 == */64 ]] || return 1
          address_words "${1%%%%/*}" || return 1
          words=$WORDS
          set -- $words
          [ "$#" -eq 8 ] || return 1
          for network in $MANAGED; do
            address_words "${network%%%%/*}" || return 1
            bits=${network#*/}
            [ "$bits" -le 64 ] || bits=64
            same_prefix "$words" "$WORDS" "$bits" && return 0
          done
          return 1
        }

        # A redirect goes to the DNS filter, compared as text: never without one.
        check_dns_filter() {
          [ -n "$DNS_FILTER" ] && [ "$1" = "$DNS_FILTER" ]
        }

        check_bridge() {
          local bridge
          for bridge in $BRIDGES; do
            [ "$1" = "$bridge" ] && return 0
          done
          return 1
        }

        # Whether every directory named in $@ can be changed by root alone (by this user, when run
        # without sudo): owned by root or this user, no ACL, and not writable by group or others,
        # but for sticky directories (such as /tmp) other than STATE_DIR. One ls lists them all,
        # in its default format whatever the environment says: nine words per directory (mode,
        # links, owner, group, size, three of date, name). Sets REASON and fails otherwise.
        safe_directories() {
          local count=$# mode owner name
          set -- $(env -i /bin/ls -ldn -- "$@" 2>/dev/null)
          [ "$#" -eq $(( count * 9 )) ] || { REASON="cannot list the directories of $STATE"; return 1; }
          while [ "$#" -ge 9 ]; do
            mode=$1 owner=$3 name=$9
            shift 9
            { [ "$owner" = 0 ] || [ "$owner" = "$EUID" ]; } \\
              && [[ $mode =~ ^d[-rwxsStT]{9}[.@]?$ ]] \\
              && case $mode in
                   ?????w*|????????w*) [ "$name" != "$STATE_DIR" ] && [[ $mode == ?????????[tT]* ]] ;;
                 esac \\
              || { REASON="$name can be changed by others than root (owner $owner, mode $mode), so $STATE cannot be trusted"; return 1; }
          done
        }

        # Sets STATE_DIR to STATE with symlinks resolved, once the directories above it are
        # safe_directories; makes it (mode 700) if missing; then checks it too.
        prepare_state() {
          local above dir dirs=
          above=$(cd -P -- "${STATE%%/*}/" 2>/dev/null && pwd -P) \\
            || { REASON="the directory above $STATE is missing"; return 1; }
          [[ $above =~ ^/[A-Za-z0-9_./-]*$ ]] \\
            || { REASON="the directory above $STATE resolves to a path with unusual characters"; return 1; }
          STATE_DIR=${above%%/}/${STATE##*/}
          dir=$above
          while :; do
            dirs="$dir $dirs"
            [ "$dir" = / ] && break
            dir=${dir%%/*}
            [ -n "$dir" ] || dir=/
          done
          if [ ! -e "$STATE_DIR" ] && [ ! -L "$STATE_DIR" ]; then
            safe_directories $dirs || return 1
            mkdir -m 700 -- "$STATE_DIR" 2>/dev/null
          fi
          safe_directories $dirs "$STATE_DIR" || return 1
        }

        # Whether line $2, number $1 of a load, is one of the shapes: the first that matches, with
        # its checks passed. Sets REASON and fails otherwise.
        check_line() {
          local number=$1 line=$2 i=0 spec
          local -a parts
          while [ "$i" -lt "${#SHAPES[@]}" ]; do
            if [[ $line =~ ${SHAPES[$i]} ]]; then
              parts=( "${BASH_REMATCH[@]}" )
              for spec in ${CHECKS[$i]}; do
                "check_${spec#*:}" "${parts[${spec%%%%:*}]}" \\
                  || { REASON="line $number names '${parts[${spec%%%%:*}]}', outside the managed networks ($MANAGED), bridges (${BRIDGES:-none}) and DNS filter (${DNS_FILTER:-none})"; return 1; }
              done
              return 0
            fi
            i=$(( i + 1 ))
          done
          REASON="line $number is not a line egress-pf writes: ${line:0:120}"
          return 1
        }

        # Checks the load in file $2 as load $1: at most MAX_LOAD_BYTES bytes, printable ASCII and
        # newlines only, every line but the last a shape of that load (check_line), the last
        # END_OF_LOAD, ended by a newline. Sets REASON and fails otherwise.
        check_load() {
          local file=$2 bytes stray number=0 line= previous=
          bytes=$(( $(wc -c < "$file") ))
          [ "$bytes" -le "$MAX_LOAD_BYTES" ] \\
            || { REASON="the input has more than $MAX_LOAD_BYTES bytes"; return 1; }
          stray=$(( $(tr -d '\\n -~' < "$file" | wc -c) ))
          [ "$stray" -eq 0 ] \\
            || { REASON="the input holds $stray bytes that are not printable ASCII or newlines"; return 1; }
          shapes "$1"
          while IFS= read -r line; do
            number=$(( number + 1 ))
            if [ "$number" -gt 1 ]; then
              check_line $(( number - 1 )) "$previous" || return 1
            fi
            previous=$line
          done < "$file"
          # read fails at the end, leaving in line what followed the last newline.
          [ -z "$line" ] || { REASON="the input does not end with a newline: cut short?"; return 1; }
          [ "$number" -gt 0 ] && [ "$previous" = "$END_OF_LOAD" ] \\
            || { REASON="the input does not end with the line '$END_OF_LOAD': cut short, or not written by egress-pf"; return 1; }
        }

        # Copies standard input into a private file, checks it as load $1, then execs pfctl with
        # the remaining arguments and that file, unlinked, as its standard input.
        load() {
          local kind=$1
          shift
          prepare_state || refuse "$REASON"
          LOAD_FILE=$(mktemp "$STATE_DIR/load.XXXXXXXXXX") || refuse "cannot create a file in $STATE_DIR"
          trap 'rm -f -- "$LOAD_FILE"' EXIT
          trap 'exit 129' HUP
          trap 'exit 130' INT
          trap 'exit 143' TERM
          head -c $(( MAX_LOAD_BYTES + 1 )) > "$LOAD_FILE" || refuse "could not read the input"
          check_load "$kind" "$LOAD_FILE" || refuse "$REASON"
          exec 0< "$LOAD_FILE" || refuse "could not reopen the checked input"
          rm -f -- "$LOAD_FILE"
          trap - EXIT HUP INT TERM
          exec "$PFCTL" "$@"
        }

        # A state kill names one address inside the managed networks.
        managed_host() {
          [[ $1 != */* ]] && inside_managed "$1"
        }

        # A table grant names address literals: no network, no host name (pfctl would resolve it
        # as root), no negation, no option.
        address_literal() {
          [[ $1 != */* ]] && address_words "$1"
        }

        [ "$#" -ge 1 ] || refuse "no arguments"
        for arg in "$@"; do
          [[ $arg =~ ^[A-Za-z0-9_./:-]+$ ]] || refuse "an argument holds a character outside [A-Za-z0-9_./:-]"
        done
        args="$*"

        case $1 in
          -E)
            [ "$#" -eq 1 ] || refuse "$args"
            exec "$PFCTL" -E
            ;;
          -X)
            refuse "$args: releasing an enable reference can switch pf off for every container; root releases one with 'pfctl -X'"
            ;;
          -k)
            if [ "$#" -eq 2 ] && managed_host "$2"; then
              exec "$PFCTL" "$@"
            fi
            if [ "$#" -eq 4 ] && [ "$3" = -k ] && managed_host "$4" \\
                && { { [ "$2" = 0.0.0.0/0 ] && [[ $4 != *:* ]]; } || { [ "$2" = ::/0 ] && [[ $4 == *:* ]]; }; }; then
              exec "$PFCTL" "$@"
            fi
            refuse "$args: -k takes one address inside $MANAGED, after 0.0.0.0/0 or ::/0 of its family"
            ;;
        esac

        for pattern in "-s info" "-s rules" "-s state" "-a ($PARENT|$CHILD) -s rules" "-a $CHILD -v -s rules" "-a $PARENT -s Anchors" \\
            "-a $CHILD -F all" "-a $CHILD -t $TABLE -T show"; do
          if [[ $args =~ ^$pattern$ ]]; then
            exec "$PFCTL" "$@"
          fi
        done
        # A DNS filter's grant and its revocation: 1 to MAX_TABLE_ADDRESSES address literals.
        pattern="^-a $CHILD -t $TABLE -T (add|delete)$"
        if [ "$#" -ge 7 ] && [[ "$1 $2 $3 $4 $5 $6" =~ $pattern ]]; then
          [ "$#" -le $(( 6 + MAX_TABLE_ADDRESSES )) ] \\
            || refuse "-T $6 takes at most $MAX_TABLE_ADDRESSES addresses"
          for address in "${@:7}"; do
            address_literal "$address" || refuse "-T $6 takes address literals only, not '$address'"
          done
          exec "$PFCTL" "$@"
        fi
        pattern="^-a $PARENT -f -$"
        [[ $args =~ $pattern ]] && load parent "$@"
        pattern="^-a $CHILD -f -$"
        [[ $args =~ $pattern ]] && load child "$@"
        pattern="^-a $CHILD -t $TABLE -T replace -f -$"
        [[ $args =~ $pattern ]] && load table "$@"
        refuse "$args"
        """
        .formatted(
            pfctl,
            stateDirectory,
            parent.path().pattern(),
            parent.path().childPattern(),
            TableName.PATTERN,
            scope.networks().stream()
                .map(n -> IpAddresses.format(n.address()) + "/" + n.prefixLength())
                .collect(Collectors.joining(" ")),
            String.join(" ", scope.bridges()),
            Pfctl.MAX_LOAD_BYTES,
            Pfctl.END_OF_LOAD,
            LoadGrammar.IPV4,
            shapeCases(),
            Pfctl.MAX_TABLE_ADDRESSES,
            dnsFilter == null ? "" : IpAddresses.format(dnsFilter));
  }

  /** The {@code case} arms of the script's {@code shapes} function, one per load. */
  private static String shapeCases() {
    StringBuilder out = new StringBuilder();
    for (LoadGrammar.Load load : LoadGrammar.Load.values()) {
      out.append("    ").append(load.name().toLowerCase(Locale.ROOT)).append(")\n");
      out.append("      SHAPES=(\n");
      for (LoadGrammar.LineShape shape : LoadGrammar.shapes(load)) {
        out.append("        '").append(shape.regex()).append("'\n");
      }
      out.append("      )\n      CHECKS=(\n");
      for (LoadGrammar.LineShape shape : LoadGrammar.shapes(load)) {
        out.append("        '")
            .append(
                shape.checks().stream()
                    .map(check -> check.group() + ":" + check.role().scriptName())
                    .collect(Collectors.joining(" ")))
            .append("'\n");
      }
      out.append("      )\n      ;;\n");
    }
    return out.toString().stripTrailing();
  }
}
