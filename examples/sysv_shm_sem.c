/*
 * sysv_shm_sem.c - notes sections 6.3 and 6.4 together: System V shared
 * memory for the data and a System V semaphore for the order.  The four
 * steps of 6.3 happen inside ipckit: shmget and shmat in ipk_listen /
 * ipk_dial, shmdt in ipk_close, shmctl(IPC_RMID) in the listener's close.
 * The semaphore (semget, semop) is P'd by the child before it may speak
 * and V'd by the parent once it is ready to listen.
 */
#include <ipckit.h>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int
child(const char *shm, const char *sem)
{
	ipk_sem *go;
	ipk_chan *ch;
	if (ipk_sem_open(sem, &go) < 0 || ipk_sem_wait(go, 5000) < 0)
		return 1; /* P: wait for the parent's V */
	printf("child: P done, the parent said go\n");
	fflush(stdout);
	if (ipk_dial(shm, &ch) < 0)
		return 2;
	int rc = ipk_send(ch, "hello through shmat'ed memory", 29, 2000);
	ipk_close(ch); /* shmdt */
	ipk_sem_close(go);
	return rc < 0 ? 3 : 0;
}

int
main(void)
{
	char shm[64], sem[64];
	int key = 0x1e000000 + (getpid() & 0xffff);
	snprintf(shm, sizeof(shm), "sysvshm:0x%x", key);
	snprintf(sem, sizeof(sem), "sysvsem:0x%x", key + 0x10000);
	ipk_sem *go;
	ipk_chan *ch;
	if (ipk_sem_create(sem, 0, &go) < 0) /* semget + semctl(SETVAL 0) */
		return 1;
	if (ipk_listen(shm, &ch) < 0) { /* shmget(IPC_CREAT) + shmat */
		ipk_sem_close(go);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(child(shm, sem));
	ipk_sem_post(go); /* V */
	char buf[64];
	ssize_t n = ipk_recv(ch, buf, sizeof(buf), 5000);
	if (n >= 0)
		printf("parent: got \"%.*s\"\n", (int)n, buf);
	int st;
	waitpid(pid, &st, 0);
	ipk_close(ch);     /* shmdt + shmctl(IPC_RMID) */
	ipk_sem_close(go); /* semctl(IPC_RMID) */
	return n < 0 || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}
