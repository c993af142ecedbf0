/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a file descriptor of the current task refers to: file (path components, across mounts),
 * pipe, socket (family, type, addresses and ports; the unix peer) or anonymous inode. CO-RE reads
 * only; every read may fail (the descriptor is being closed) and then leaves zeros.
 * Include after vmlinux.h and the libbpf headers.
 */
#ifndef VIGIL_FD_BPF_H
#define VIGIL_FD_BPF_H

#include "vigil/trace.h"

#define VG_S_IFMT 00170000
#define VG_S_IFSOCK 0140000
#define VG_S_IFIFO 0010000
#define VG_ANON_INODE_FS_MAGIC 0x09041934
#define VG_PIDFS_MAGIC 0x50494446
#define VG_AF_UNIX 1
#define VG_AF_INET 2
#define VG_AF_INET6 10

/* The current task's struct file for fd, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **arr, *f = NULL;
	unsigned int max;

	if (!fdt || fd < 0)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline __u16 bswap16(__u16 v)
{
	return (v >> 8) | (v << 8);
}

/* Kind, inode and, for sockets, the socket's identity and addresses. */
static __always_inline void file_kind(struct file *f, struct vg_fd_info *o)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u16 mode = BPF_CORE_READ(ino, i_mode);
	unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);

	o->ino = BPF_CORE_READ(ino, i_ino);
	if ((mode & VG_S_IFMT) == VG_S_IFIFO) {
		o->kind = VG_FD_PIPE;
		/* Both ends of a pipe share the inode: its address names the pipe. */
		o->sk = (__u64)ino;
		return;
	}
	if ((mode & VG_S_IFMT) != VG_S_IFSOCK) {
		o->kind = magic == VG_ANON_INODE_FS_MAGIC || magic == VG_PIDFS_MAGIC ? VG_FD_OTHER :
										       VG_FD_FILE;
		return;
	}
	o->kind = VG_FD_SOCK;
	{
		struct socket *sock = BPF_CORE_READ(f, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);

		if (!sk)
			return;
		o->sk = (__u64)sk;
		o->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		o->sock_type = BPF_CORE_READ(sk, sk_type);
		if (o->family == VG_AF_UNIX) {
			struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
			__u64 pino = 0;

			o->peer = (__u64)peer;
			/* Inode numbers name a connection's ends for its whole life (socket
			 * addresses are reused): the peer's goes where a remote address would. */
			if (peer)
				pino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
			__builtin_memcpy(o->daddr, &pino, sizeof(pino));
		} else if (o->family == VG_AF_INET) {
			__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

			__builtin_memcpy(o->saddr, &s, 4);
			__builtin_memcpy(o->daddr, &d, 4);
		} else if (o->family == VG_AF_INET6) {
			BPF_CORE_READ_INTO(&o->saddr, sk, __sk_common.skc_v6_rcv_saddr);
			BPF_CORE_READ_INTO(&o->daddr, sk, __sk_common.skc_v6_daddr);
		}
		if (o->family == VG_AF_INET || o->family == VG_AF_INET6) {
			o->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
			o->dport = bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		}
	}
}

/*
 * Path components of f, leaf first, crossing mount points up to the root of the task's mount
 * tree; VG_FDI_TRUNCATED when there were more than VG_PATH_PARTS. Anonymous inodes give their
 * name ("[eventpoll]").
 */
static __always_inline void file_path(struct file *f, struct vg_fd_info *o)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry), *parent, *root;
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct mount *mnt = (void *)vm - bpf_core_field_offset(struct mount, mnt), *up;
	__u32 n = 0;

	for (int i = 0; i < VG_PATH_PARTS + 4; i++) {
		root = BPF_CORE_READ(vm, mnt_root);
		if (d == root) {
			up = BPF_CORE_READ(mnt, mnt_parent);
			if (up == mnt || !up)
				return;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vm = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		parent = BPF_CORE_READ(d, d_parent);
		if (n >= VG_PATH_PARTS) {
			o->flags |= VG_FDI_TRUNCATED;
			return;
		}
		bpf_probe_read_kernel_str(o->path[n & (VG_PATH_PARTS - 1)], VG_PART_LEN,
					  BPF_CORE_READ(d, d_name.name));
		n++;
		if (parent == d || !parent)
			return;
		d = parent;
	}
	if (n >= VG_PATH_PARTS)
		o->flags |= VG_FDI_TRUNCATED;
}

#endif
