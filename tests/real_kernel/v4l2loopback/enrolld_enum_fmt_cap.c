// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one change the enrolld test build makes to v4l2loopback (tests/real_kernel/host/loopback.sh
 * includes this file into v4l2loopback.c, right after the driver's own capture-side
 * VIDIOC_ENUM_FMT handler, which it renames v4l2l_enum_fmt_cap_unpatched).
 *
 * Why: a USB (UVC) webcam offers MJPEG and YUYV on one node, and enrolld's `format = "auto"`
 * must take MJPEG there. v4l2loopback's capture side lists exactly one format, the one its
 * producer writes (none before the producer starts), with exclusive_caps 0 and 1 alike, so no
 * configuration of the stock module offers both. With the parameter below set (at run time:
 * /sys/module/v4l2loopback/parameters/enrolld_mjpeg_lists_yuyv), a device whose producer
 * writes MJPEG lists YUYV first and MJPEG second, as such a camera would, so a consumer that
 * took the first format listed would take YUYV. Only the listing changes: the frames are the
 * producer's MJPEG, and VIDIOC_S_FMT asking for YUYV still fails (EINVAL) as it does unpatched.
 * Off (the default), the driver behaves exactly as Debian ships it.
 */

static bool enrolld_mjpeg_lists_yuyv;
module_param(enrolld_mjpeg_lists_yuyv, bool, 0644);
MODULE_PARM_DESC(enrolld_mjpeg_lists_yuyv,
		 "enrolld tests: while the producer writes MJPEG, also list YUYV (first) on the capture side; only MJPEG is delivered");

static int vidioc_enum_fmt_cap(struct file *file, void *fh,
			       struct v4l2_fmtdesc *f)
{
	struct v4l2_loopback_device *dev = v4l2loopback_getdevice(file);
	u32 index = f->index;
	int ret;

	if (!READ_ONCE(enrolld_mjpeg_lists_yuyv) || !dev->ready_for_capture ||
	    dev->pix_format.pixelformat != V4L2_PIX_FMT_MJPEG)
		return v4l2l_enum_fmt_cap_unpatched(file, fh, f);
	if (index == 0) {
		/* The v4l2 core fills in the description of a known format. */
		f->pixelformat = V4L2_PIX_FMT_YUYV;
		f->flags = 0;
		return 0;
	}
	if (index > 1)
		return -EINVAL;
	/* Index 1 is the producer's format: the driver's own answer for its index 0. */
	f->index = 0;
	ret = v4l2l_enum_fmt_cap_unpatched(file, fh, f);
	f->index = index;
	return ret;
}
