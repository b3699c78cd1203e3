# ipckit.bash - bash completion for ipckit(1): the verbs, each verb's
# options, URL schemes (and existing queues, shm and FIFO paths) where a
# URL goes, files for the options that name one.  Installed as
# share/bash-completion/completions/ipckit; needs nothing else loaded.

_ipckit_verbs="send recv relay sem bench ls rm limits tcp-trace"
_ipckit_schemes="pipe: fifo: sysvmsg: mq: unix: unixgram: unixpacket: tcp://
udp:// shm: sysvshm: redis://"
# What `ipckit rm` removes, and the kinds of `ipckit ls --kind`.
_ipckit_rm_schemes="sysvmsg: sysvshm: sysvsem: mq: shm: sem: fifo: unix:
unixgram: unixpacket:"
_ipckit_kinds="sysvmsg sysvshm sysvsem mq shm sem fifo unix unixgram
unixpacket tcp udp"
_ipckit_bench_names="pipe fifo fifo-single unix unixpacket unixgram tcp udp
mq sysvmsg shm shm-spin sysvshm sysvshm-sleep"

_ipckit_opts() {
	case $1 in
	send) echo "--file --dial --listen --timeout --type --prio --fd --help" ;;
	recv) echo "-n --count --timeout --hex --json -o --output --type" \
		"--peer --save-fds --save-fds-max --listen --dial --help" ;;
	relay) echo "--dial-from --listen-to --both --timeout --stats --json" \
		"--help" ;;
	sem) echo "--value --timeout --help" ;;
	bench) echo "--quick --size --only --repeat --rtts --count --time" \
		"--timeout --gap --redis --json --csv --svg --html --help" ;;
	ls) echo "--kind --user --stale --json --help" ;;
	rm) echo "--stale --force --dry-run --help" ;;
	limits) echo "--json --help" ;;
	tcp-trace) echo "--close --linger --data --port --v6 --wait --json" \
		"--pcap --svg --restart --count --pid --help" ;;
	*) echo "--help" ;;
	esac
}

# Options whose value is the next word (so it is not a positional).
_ipckit_takes_value() {
	case $1 in
	--timeout | --type | --prio | --file | --fd | -n | --count | -o | \
		--output | --save-fds | --save-fds-max | --value | --size | \
		--only | --repeat | --rtts | --time | --gap | --svg | --html | \
		--stats | --kind | --user | --close | --data | --port | --pcap | \
		--redis | --pid)
		return 0 ;;
	esac
	return 1
}

# Candidates for a comma-separated list: complete its last item.
_ipckit_list() {
	local cur=$1 head="" w
	[[ $cur == *,* ]] && head=${cur%,*},
	for w in $2; do
		[[ $head$w == "$cur"* ]] && COMPREPLY+=("$head$w")
	done
}

# Candidates for a URL: a scheme, then what exists for it.
_ipckit_url() {
	local cur=$1 schemes=$2 rest f
	if [[ $cur != *:* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$schemes" -- "$cur")
		compopt -o nospace 2>/dev/null
		return
	fi
	rest=${cur#*:}
	case ${cur%%:*} in
	fifo | unix | unixgram | unixpacket)
		while IFS= read -r f; do
			[[ -d $f ]] && f=$f/
			COMPREPLY+=("${cur%%:*}:$f")
		done < <(compgen -f -- "$rest")
		compopt -o nospace 2>/dev/null ;;
	mq)
		for f in /dev/mqueue/*; do
			[[ -e $f ]] && COMPREPLY+=("mq:/${f##*/}")
		done ;;
	shm | sem)
		for f in /dev/shm/*; do
			[[ -e $f ]] || continue
			f=${f##*/}
			case ${cur%%:*} in
			sem) [[ $f == sem.* ]] && COMPREPLY+=("sem:/${f#sem.}") ;;
			*) [[ $f == sem.* ]] || COMPREPLY+=("shm:/$f") ;;
			esac
		done ;;
	sysvmsg | sysvshm | sysvsem)
		local file=${cur%%:*} key
		file=/proc/sysvipc/${file#sysv}
		[[ -r $file ]] || return
		while read -r key _; do
			[[ $key =~ ^-?[0-9]+$ && $key != 0 ]] &&
				COMPREPLY+=("${cur%%:*}:$(printf '0x%x' $((key & 0xffffffff)))")
		done < <(tail -n +2 "$file")
		;;
	esac
	local all=("${COMPREPLY[@]}")
	COMPREPLY=()
	for f in "${all[@]}"; do
		[[ $f == "$cur"* ]] && COMPREPLY+=("$f")
	done
}

# The value of option $1.  Returns 1 when the option takes none.
_ipckit_value() {
	local verb=$1 opt=$2 cur=$3
	case $opt in
	--file | --fd | --svg | --html | --pcap | -o | --output)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null ;;
	--save-fds)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null ;;
	--only) _ipckit_list "$cur" "$_ipckit_bench_names" ;;
	--kind) _ipckit_list "$cur" "$_ipckit_kinds" ;;
	--close)
		mapfile -t COMPREPLY < <(compgen -W "client server both" -- "$cur")
		;;
	--user) mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
	*) _ipckit_takes_value "$opt" || return 1 ;; # a number: nothing to offer
	esac
	return 0
}

# The positional argument number $2 (0 first) of verb $1.
_ipckit_positional() {
	local verb=$1 n=$2 cur=$3
	case $verb in
	send | recv) ((n == 0)) && _ipckit_url "$cur" "$_ipckit_schemes" ;;
	relay) ((n < 2)) && _ipckit_url "$cur" "$_ipckit_schemes stdio:" ;;
	rm) _ipckit_url "$cur" "$_ipckit_rm_schemes" ;;
	sem)
		if ((n == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "create wait post value rm run" \
				-- "$cur")
		elif ((n == 1)); then
			_ipckit_url "$cur" "sem: sysvsem:"
		fi ;;
	esac
}

_ipckit() {
	# Words split on blanks only, from the line itself: bash splits
	# "fifo:/tmp/x" at the colon, and URLs are full of them.
	local line=${COMP_LINE:0:COMP_POINT} words cur
	read -ra words <<<"$line"
	if [[ -z $line || $line == *[[:blank:]] ]]; then
		words+=("")
	fi
	local cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	COMPREPLY=()
	if ((cword == 1)); then
		mapfile -t COMPREPLY < <(compgen -W \
			"$_ipckit_verbs --help --version" -- "$cur")
		return
	fi
	local verb=${words[1]} i n=0 dashdash=-1 opt=""
	for ((i = 2; i < cword; i++)); do
		if ((dashdash >= 0)); then
			continue
		elif [[ ${words[i]} == -- ]]; then
			dashdash=$i
		elif [[ ${words[i]} == -* ]]; then
			_ipckit_takes_value "${words[i]}" && ((i++))
		else
			((n++))
		fi
	done
	# After --: sem run's command and its arguments; messages elsewhere.
	if ((dashdash >= 0)); then
		[[ $verb == sem ]] || return
		if ((dashdash == cword - 1)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		return
	fi
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		_ipckit_value "$verb" "$opt" "${cur#*=}"
	elif _ipckit_value "$verb" "${words[cword - 1]}" "$cur"; then
		:
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_ipckit_opts "$verb")" \
			-- "$cur")
	else
		_ipckit_positional "$verb" "$n" "$cur"
	fi
	_ipckit_trim "$cur" "$opt"
}

# bash replaces only the part of the word after its last ':' or '='
# if COMP_WORDBREAKS has them (it has by default): cut that much off each
# candidate.  An --opt=VALUE candidate is VALUE alone: put --opt= back
# when '=' does not break words.
_ipckit_trim() {
	local cur=$1 opt=$2 cut="" i
	if [[ -n $opt ]]; then
		[[ $COMP_WORDBREAKS == *=* ]] && return
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=$opt=${COMPREPLY[i]}
		done
		return
	fi
	for ((i = 0; i < ${#cur}; i++)); do
		[[ ${cur:i:1} == [:=] && $COMP_WORDBREAKS == *"${cur:i:1}"* ]] &&
			cut=${cur:0:i+1}
	done
	[[ -z $cut ]] && return
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$cut"}
	done
}

complete -F _ipckit ipckit
