/* cam-colormap-tables.h -- matplotlib's colormap tables (internal). */
#ifndef CAM_COLORMAP_TABLES_H
#define CAM_COLORMAP_TABLES_H

#include <stdint.h>

/* One table per cam_colormap value before CAM_COLORMAP_GREENS_REDS, in enum
 * order: 256 entries of R, G, B (matplotlib bytes=True). */
#define CAM_COLORMAP_N_TABLES 10
extern const uint8_t cam_colormap_tables[CAM_COLORMAP_N_TABLES][768];

#endif /* CAM_COLORMAP_TABLES_H */
