// SPDX-License-Identifier: GPL-2.0
/*
 * kstub's own polled driver for a virtio console device; no
 * CONFIG_CONSOLE_POLL needed. kstub takes one whole device from the
 * virtio_console driver while loaded and gives it back on unload: a
 * device with a single port (QEMU: virtio-serial with max_ports=1), so
 * there is no multiport control queue, just one receive and one transmit
 * queue. The kernel's other virtio consoles are not touched.
 *
 * Buffers are posted and reaped by polling while the kernel is stopped;
 * while it runs, the receive queue's interrupt lets GDB break in.
 *
 * The virtio API is looked up when kstub looks for a device, not linked:
 * where virtio is a module (Debian's 6.1) kstub loads without it, and
 * uses it when it is loaded. symbol_get() holds the modules that export
 * it while kstub has a device.
 */
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/kprobes.h>
#include "compat.h"
#include "transport.h"

enum {
	KSTUB_VC_RX_BUFS = 4,
	KSTUB_VC_RX_SIZE = 4096,
	KSTUB_VC_TX_SIZE = KSTUB_FRAME_CAP,	/* a whole reply in one buffer */
	KSTUB_VC_RXQ = 0,
	KSTUB_VC_TXQ = 1,
	KSTUB_VC_NQ = 2,
};

/* Written at load and unload; read by the CPU that drives the device. */
static struct {
	typeof(virtqueue_add_inbuf) *add_inbuf;
	typeof(virtqueue_add_outbuf) *add_outbuf;
	typeof(virtqueue_kick) *kick;
	typeof(virtqueue_get_buf) *get_buf;
	typeof(virtqueue_is_broken) *is_broken;
	typeof(virtio_reset_device) *reset;
	typeof(KSTUB_VIRTIO_REGISTER) *register_driver;
	typeof(unregister_virtio_driver) *unregister_driver;
} kstub_vio;

static void kstub_vio_put(void)
{
	if (kstub_vio.add_inbuf)
		symbol_put(virtqueue_add_inbuf);
	if (kstub_vio.add_outbuf)
		symbol_put(virtqueue_add_outbuf);
	if (kstub_vio.kick)
		symbol_put(virtqueue_kick);
	if (kstub_vio.get_buf)
		symbol_put(virtqueue_get_buf);
	if (kstub_vio.is_broken)
		symbol_put(virtqueue_is_broken);
	if (kstub_vio.reset)
		symbol_put(virtio_reset_device);
	if (kstub_vio.register_driver)
		symbol_put(KSTUB_VIRTIO_REGISTER);
	if (kstub_vio.unregister_driver)
		symbol_put(unregister_virtio_driver);
	memset(&kstub_vio, 0, sizeof(kstub_vio));
}

/* Context: process. Return: whether the kernel has virtio loaded. */
static bool kstub_vio_get(void)
{
	kstub_vio.add_inbuf = symbol_get(virtqueue_add_inbuf);
	kstub_vio.add_outbuf = symbol_get(virtqueue_add_outbuf);
	kstub_vio.kick = symbol_get(virtqueue_kick);
	kstub_vio.get_buf = symbol_get(virtqueue_get_buf);
	kstub_vio.is_broken = symbol_get(virtqueue_is_broken);
	kstub_vio.reset = symbol_get(virtio_reset_device);
	kstub_vio.register_driver = symbol_get(KSTUB_VIRTIO_REGISTER);
	kstub_vio.unregister_driver = symbol_get(unregister_virtio_driver);
	if (kstub_vio.add_inbuf && kstub_vio.add_outbuf && kstub_vio.kick &&
	    kstub_vio.get_buf && kstub_vio.is_broken && kstub_vio.reset &&
	    kstub_vio.register_driver && kstub_vio.unregister_driver)
		return true;
	kstub_vio_put();
	return false;
}

static struct device *kstub_vc_target;	/* the device chosen at load */
static bool kstub_vc_was_bound;		/* virtio_console had it */
static struct virtio_device *kstub_vc_dev;	/* set while we drive it */
static struct virtqueue *kstub_vc_vqs[KSTUB_VC_NQ];
static u8 *kstub_vc_rx[KSTUB_VC_RX_BUFS];
static u8 *kstub_vc_tx;

/* the received buffer being read, until it is posted again */
static u8 *kstub_vc_cur;
static unsigned int kstub_vc_cur_len, kstub_vc_cur_pos;

/* Atomic-safe: one descriptor, so nothing is allocated. */
static void kstub_vc_post(u8 *buf)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, KSTUB_VC_RX_SIZE);
	if (!kstub_vio.add_inbuf(kstub_vc_vqs[KSTUB_VC_RXQ], &sg, 1, buf, GFP_ATOMIC))
		kstub_vio.kick(kstub_vc_vqs[KSTUB_VC_RXQ]);
}

/* Atomic-safe. */
static int kstub_vc_get_char(void)
{
	unsigned int len;
	u8 *buf;

	while (kstub_vc_cur_pos >= kstub_vc_cur_len) {
		if (kstub_vc_cur)
			kstub_vc_post(kstub_vc_cur);
		kstub_vc_cur = NULL;
		buf = kstub_vio.get_buf(kstub_vc_vqs[KSTUB_VC_RXQ], &len);
		if (!buf)
			return -1;
		kstub_vc_cur = buf;
		kstub_vc_cur_len = min_t(unsigned int, len, KSTUB_VC_RX_SIZE);
		kstub_vc_cur_pos = 0;
	}
	return kstub_vc_cur[kstub_vc_cur_pos++];
}

NOKPROBE_SYMBOL(kstub_vc_get_char);

/* Atomic-safe: waits until the device has taken each buffer. */
static void kstub_vc_put_chars(const u8 *buf, size_t len)
{
	struct virtqueue *vq = kstub_vc_vqs[KSTUB_VC_TXQ];
	struct scatterlist sg;
	unsigned int n, done;

	while (len) {
		n = min_t(size_t, len, KSTUB_VC_TX_SIZE);
		memcpy(kstub_vc_tx, buf, n);
		sg_init_one(&sg, kstub_vc_tx, n);
		if (kstub_vio.add_outbuf(vq, &sg, 1, kstub_vc_tx, GFP_ATOMIC))
			return;
		kstub_vio.kick(vq);
		while (!kstub_vio.get_buf(vq, &done) && !kstub_vio.is_broken(vq))
			cpu_relax();
		buf += n;
		len -= n;
	}
}

NOKPROBE_SYMBOL(kstub_vc_put_chars);

static void kstub_vc_rx_done(struct virtqueue *vq)
{
	kstub_rx_irq();
}

static int kstub_vc_find_vqs(struct virtio_device *vdev)
{
	vq_callback_t *callbacks[KSTUB_VC_NQ] = {
		[KSTUB_VC_RXQ] = kstub_vc_rx_done,
		[KSTUB_VC_TXQ] = NULL,
	};
	const char *names[KSTUB_VC_NQ] = {
		[KSTUB_VC_RXQ] = "kstub-rx",
		[KSTUB_VC_TXQ] = "kstub-tx",
	};

	BUILD_BUG_ON(KSTUB_VC_NQ != 2);
	return kstub_find_2_vqs(vdev, kstub_vc_vqs, callbacks, names);
}

/* Only the device chosen at load; the others stay virtio_console's. */
static int kstub_vc_probe(struct virtio_device *vdev)
{
	int i, ret;

	if (&vdev->dev != kstub_vc_target)
		return -ENODEV;
	ret = kstub_vc_find_vqs(vdev);
	if (ret)
		return ret;
	virtio_device_ready(vdev);
	kstub_vc_cur = NULL;
	kstub_vc_cur_len = 0;
	kstub_vc_cur_pos = 0;
	for (i = 0; i < KSTUB_VC_RX_BUFS; i++)
		kstub_vc_post(kstub_vc_rx[i]);
	kstub_vc_dev = vdev;
	return 0;
}

static void kstub_vc_remove(struct virtio_device *vdev)
{
	kstub_vio.reset(vdev);
	vdev->config->del_vqs(vdev);
	kstub_vc_dev = NULL;
}

static const struct virtio_device_id kstub_vc_ids[] = {
	{ VIRTIO_ID_CONSOLE, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver kstub_vc_driver = {
	.driver.name = "kstub",
	.id_table = kstub_vc_ids,
	.probe = kstub_vc_probe,
	.remove = kstub_vc_remove,
};

static bool kstub_vc_single_port(struct device *dev)
{
	struct virtio_device *vdev = dev_to_virtio(dev);

	return vdev->id.device == VIRTIO_ID_CONSOLE &&
	       !(vdev->config->get_features(vdev) & BIT_ULL(VIRTIO_CONSOLE_F_MULTIPORT));
}

/* @data: "auto" for the first single-port console, or a device name */
static int kstub_vc_match(struct device *dev, const void *data)
{
	const char *want = data;

	if (!strcmp(want, "auto"))
		return kstub_vc_single_port(dev);
	return !strcmp(dev_name(dev), want) &&
	       dev_to_virtio(dev)->id.device == VIRTIO_ID_CONSOLE;
}

static void kstub_vc_free(void)
{
	int i;

	if (kstub_vc_tx)
		free_pages_exact(kstub_vc_tx, KSTUB_VC_TX_SIZE);
	kstub_vc_tx = NULL;
	for (i = 0; i < KSTUB_VC_RX_BUFS; i++) {
		kfree(kstub_vc_rx[i]);
		kstub_vc_rx[i] = NULL;
	}
}

static int kstub_vc_alloc(void)
{
	int i;

	/* contiguous, for the device, and not rounded up to a power of two */
	kstub_vc_tx = alloc_pages_exact(KSTUB_VC_TX_SIZE, GFP_KERNEL);
	for (i = 0; i < KSTUB_VC_RX_BUFS; i++)
		kstub_vc_rx[i] = kmalloc(KSTUB_VC_RX_SIZE, GFP_KERNEL);
	for (i = 0; i < KSTUB_VC_RX_BUFS; i++)
		if (!kstub_vc_rx[i])
			break;
	if (!kstub_vc_tx || i < KSTUB_VC_RX_BUFS) {
		kstub_vc_free();
		return -ENOMEM;
	}
	return 0;
}

/* Back to virtio_console, if it had the device. */
static void kstub_vc_give_back(void)
{
	if (kstub_vc_was_bound && device_attach(kstub_vc_target) < 0)
		pr_warn("virtio: could not give %s back to virtio_console\n",
			dev_name(kstub_vc_target));
	kstub_vc_was_bound = false;
	put_device(kstub_vc_target);
	kstub_vc_target = NULL;
}

/**
 * kstub_virtio_find() - is there a virtio console kstub could take?
 * @arg: "auto" or a device name
 *
 * Context: process.
 * Return: true if @arg names a device kstub_transport_virtio.init() would take.
 */
static bool kstub_virtio_find(const char *arg)
{
	struct device *dev;
	int ret;

	if (!kstub_vio_get())
		return false;
	ret = kstub_virtio_register(kstub_vio.register_driver, &kstub_vc_driver);
	dev = ret ? NULL : bus_find_device(kstub_vc_driver.driver.bus, NULL, arg,
					    kstub_vc_match);
	if (!ret)
		kstub_vio.unregister_driver(&kstub_vc_driver);
	kstub_vio_put();
	put_device(dev);
	return dev;
}

static int kstub_vc_init(const char *arg)
{
	struct device *dev;
	int ret;

	if (!kstub_vio_get()) {
		pr_err("virtio=%s: the kernel has no virtio loaded\n", arg);
		return -ENODEV;
	}
	ret = kstub_vc_alloc();
	if (ret)
		goto err_put;
	ret = kstub_virtio_register(kstub_vio.register_driver, &kstub_vc_driver);
	if (ret)
		goto err_free;
	dev = bus_find_device(kstub_vc_driver.driver.bus, NULL, arg, kstub_vc_match);
	if (!dev) {
		pr_err("virtio=%s: no such virtio console; want auto (the first one with a single port) or its device name (virtio<N>)\n",
		       arg);
		ret = -EINVAL;
		goto err_unregister;
	}
	kstub_vc_target = dev;
	if (dev->driver) {
		device_release_driver(dev);
		kstub_vc_was_bound = true;
	}
	ret = device_driver_attach(&kstub_vc_driver.driver, dev);
	if (!ret && !kstub_vc_dev)
		ret = -ENODEV;
	if (ret) {
		pr_err("virtio=%s: could not take %s: %d\n", arg, dev_name(dev), ret);
		goto err_give_back;
	}
	pr_info("virtio: console %s\n", dev_name(dev));
	return 0;

err_give_back:
	kstub_vio.unregister_driver(&kstub_vc_driver);
	kstub_vc_give_back();
	goto err_free;
err_unregister:
	kstub_vio.unregister_driver(&kstub_vc_driver);
err_free:
	kstub_vc_free();
err_put:
	kstub_vio_put();
	return ret;
}

static void kstub_vc_exit(void)
{
	kstub_vio.unregister_driver(&kstub_vc_driver);
	kstub_vc_give_back();
	kstub_vc_free();
	kstub_vio_put();
}

/* Process context: a single-port virtio console, there to be taken. */
static bool kstub_vc_present(void)
{
	return kstub_virtio_find("auto");
}

const struct kstub_transport_ops kstub_transport_virtio = {
	.name = "virtio",
	.reliable = true,
	.probe = kstub_vc_present,
	.default_arg = "auto",
	.init = kstub_vc_init,
	.exit = kstub_vc_exit,
	.get_char = kstub_vc_get_char,
	.put_chars = kstub_vc_put_chars,
};
