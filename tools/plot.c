/* plot.c - draw training-log CSVs as an SVG with a loss and an accuracy panel.
 *
 * Build:  cc -O2 -o plot tools/plot.c -lm
 * Usage:  plot [-o out.svg] [--title T] [--x COLUMN] log1.csv [log2.csv ...]
 *
 * Each CSV has a header row. Every column whose name contains "loss" goes to
 * the left panel, every column containing "acc" to the right one (case
 * insensitive). x is the "epoch" column (or the one --x names, e.g. a
 * sweep's "sparsity"), or the 1-based row number if a log has none. Empty, non-numeric, NaN and inf cells are skipped: the line is
 * broken there rather than drawn through a value that does not exist.
 * Plain C99 + libm so it builds wherever nn.h does.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *path;
    char **names;   /* ncols column names */
    int ncols;
    double *v;      /* nrows x ncols, row-major; NAN where a cell is empty */
    int nrows, cap;
    int xcol;       /* index of "epoch", or -1 */
} Log;

typedef struct { int log, col, panel; } Series;

static const char *x_name = "epoch";   /* --x */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("plot: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xrealloc(NULL, strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* Read one line of any length (no POSIX getline in C99). Strips \n and \r.
 * Returns 0 at end of file. */
static int read_line(FILE *f, char **buf, size_t *cap)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *buf = xrealloc(*buf, *cap);
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0) return 0;
    if (!*buf) *buf = xrealloc(NULL, *cap = 256);
    while (n > 0 && (*buf)[n - 1] == '\r') n--;
    (*buf)[n] = '\0';
    return 1;
}

/* Split a CSV line in place; handles "quoted, fields" and surrounding blanks.
 * Returns the number of fields; fields[] gets at most max pointers. */
static int split_csv(char *s, char **fields, int max)
{
    int n = 0;
    for (;;) {
        char *start, *w;
        while (*s == ' ' || *s == '\t') s++;
        start = w = s;
        if (*s == '"') {
            s++;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"') s++;      /* "" inside quotes is one quote */
                *w++ = *s++;
            }
            if (*s == '"') s++;
            while (*s && *s != ',') s++; /* ignore junk after closing quote */
        } else {
            while (*s && *s != ',') *w++ = *s++;
            while (w > start && (w[-1] == ' ' || w[-1] == '\t')) w--;
        }
        if (n < max) fields[n] = start;
        n++;
        if (*s == ',') { *w = '\0'; s++; continue; }
        *w = '\0';
        return n;
    }
}

static int blank(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return *s == '\0';
}

/* A cell as a number; NAN when empty or not (entirely) a number. */
static double parse_num(const char *s)
{
    char *end;
    double d;
    if (blank(s)) return NAN;
    d = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    return *end ? NAN : d;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t i, j, n = strlen(needle);
    for (i = 0; hay[i]; i++) {
        for (j = 0; j < n && hay[i + j]; j++)
            if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j])) break;
        if (j == n) return 1;
    }
    return 0;
}

static int equals_ci(const char *a, const char *b)
{
    while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) a++, b++;
    return tolower((unsigned char)*a) == tolower((unsigned char)*b);
}

static void load_log(Log *L, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, **fields;
    size_t cap = 0;
    int lineno = 0, i, n, numeric_header = 1;

    memset(L, 0, sizeof *L);
    L->path = path;
    L->xcol = -1;
    if (!f) die("cannot open '%s': %s", path, strerror(errno));

    /* header: first non-blank line */
    do {
        if (!read_line(f, &line, &cap)) die("'%s' is empty (expected a CSV header row)", path);
        lineno++;
    } while (blank(line));
    fields = xrealloc(NULL, (strlen(line) + 2) * sizeof *fields);
    L->ncols = split_csv(line, fields, (int)strlen(line) + 2);
    L->names = xrealloc(NULL, (size_t)L->ncols * sizeof *L->names);
    for (i = 0; i < L->ncols; i++) {
        L->names[i] = xstrdup(fields[i]);
        if (blank(fields[i])) die("%s:%d: header has an empty column name (column %d)", path, lineno, i + 1);
        if (isnan(parse_num(fields[i]))) numeric_header = 0;
        if (L->xcol < 0 && equals_ci(fields[i], x_name)) L->xcol = i;
    }
    free(fields);
    if (numeric_header) die("%s:%d: first row is all numbers; expected a header row naming the columns", path, lineno);

    fields = xrealloc(NULL, (size_t)L->ncols * sizeof *fields);
    while (read_line(f, &line, &cap)) {
        lineno++;
        if (blank(line) || line[0] == '#') continue;
        n = split_csv(line, fields, L->ncols);
        if (n != L->ncols)
            die("%s:%d: row has %d fields but the header has %d", path, lineno, n, L->ncols);
        if (L->nrows == L->cap) {
            L->cap = L->cap ? 2 * L->cap : 64;
            L->v = xrealloc(L->v, (size_t)L->cap * (size_t)L->ncols * sizeof *L->v);
        }
        for (i = 0; i < n; i++) L->v[(size_t)L->nrows * (size_t)L->ncols + (size_t)i] = parse_num(fields[i]);
        L->nrows++;
    }
    if (ferror(f)) die("error reading '%s'", path);
    fclose(f);
    free(fields);
    free(line);
    if (L->nrows == 0) die("'%s' has a header but no data rows", path);
}

static double cell(const Log *L, int row, int col) { return L->v[(size_t)row * (size_t)L->ncols + (size_t)col]; }
static double xval(const Log *L, int row) { return L->xcol >= 0 ? cell(L, row, L->xcol) : row + 1; }

/* ---------------------------------------------------------------- axes */
/* "Nice" number: 1, 2, 5 times a power of ten (Heckbert, Graphics Gems). */
static double nicenum(double x, int round_it)
{
    double e = floor(log10(x)), f = x / pow(10, e), nf;
    if (round_it) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10, e);
}

typedef struct { double lo, hi, step; int decimals; } Axis;

static Axis make_axis(double lo, double hi, int nticks, int integer)
{
    Axis a;
    double range;
    if (!(hi > lo)) {   /* one distinct value: give it some room */
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        if (integer && pad < 1) pad = 1;
        lo -= pad;
        hi += pad;
    }
    range = nicenum(hi - lo, 0);
    a.step = nicenum(range / (nticks - 1), 1);
    if (integer && a.step < 1) a.step = 1;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    a.decimals = (int)-floor(log10(a.step) + 1e-9);
    if (a.decimals < 0) a.decimals = 0;
    /* very large or very fine scales: fixed notation would be too wide */
    if (fmax(fabs(a.lo), fabs(a.hi)) >= 1e6 || a.decimals > 5) a.decimals = -1;
    return a;
}

static void tick_label(FILE *o, const Axis *a, double t)
{
    if (fabs(t) < a->step * 1e-9) t = 0;   /* no "-0.0" from rounding */
    if (a->decimals < 0) fprintf(o, "%.6g", t);
    else fprintf(o, "%.*f", a->decimals, t);
}

/* ---------------------------------------------------------------- SVG */
#define W         1200
#define PANEL_W   (W / 2)
#define PLOT_TOP  80
#define PLOT_H    330
#define PLOT_L    80      /* left margin inside a panel, room for tick labels */
#define PLOT_R    25
#define LEGEND_Y  (PLOT_TOP + PLOT_H + 62)
#define LEGEND_DY 20
#define MAX_LABEL 68      /* characters; longer legend labels are shortened */

static const char *palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                 "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22" };
#define NCOLOURS ((int)(sizeof palette / sizeof palette[0]))

/* Text for XML: escape markup, drop control characters, and turn bytes that
 * are not valid UTF-8 into '?' (an SVG with them would not load at all). */
static void put_escaped(FILE *o, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0, k;
        for (k = 1; k < len; k++)
            if (((unsigned char)s[k] & 0xC0) != 0x80) { len = 0; break; }
        if (len == 0) { fputc('?', o); continue; }
        if (len > 1) { fwrite(s, 1, (size_t)len, o); s += len - 1; continue; }
        switch (c) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        default:
            if (c >= 0x20 || c == '\t') fputc(c, o);
        }
    }
}

/* File name without directory and ".csv", for legends. */
static void short_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    size_t len;
    b = b ? b + 1 : path;
    len = strlen(b);
    if (len > 4 && equals_ci(b + len - 4, ".csv")) len -= 4;
    if (len >= n) len = n - 1;
    memcpy(out, b, len);
    out[len] = '\0';
}

/* Marker shape per log file, so series from different runs stay apart even in grey. */
static void marker(FILE *o, int shape, double x, double y, double r, const char *col)
{
    switch (shape % 4) {
    case 0: fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", x, y, r, col); break;
    case 1: fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    x - r, y - r, 2 * r, 2 * r, col); break;
    case 2: fprintf(o, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\"/>\n",
                    x, y - 1.3 * r, x + 1.2 * r, y + r, x - 1.2 * r, y + r, col); break;
    default: fprintf(o, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\"/>\n",
                     x, y - 1.4 * r, x + 1.4 * r, y, x, y + 1.4 * r, x - 1.4 * r, y, col); break;
    }
}

/* Columns whose name says "test"/"val" are dashed, so train/test pairs read at a glance. */
static int dashed(const char *name) { return contains_ci(name, "test") || contains_ci(name, "val"); }

static void draw_panel(FILE *o, int p, const char *title, const char *ylabel, const char *xlabel,
                       const Log *logs, const Series *ser, int nser)
{
    int ox = p * PANEL_W, x0 = ox + PLOT_L, x1 = ox + PANEL_W - PLOT_R;
    int y0 = PLOT_TOP, y1 = PLOT_TOP + PLOT_H;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY, t;
    int i, r, k, all_int = 1, npts = 0, shown = 0;
    Axis ax, ay;

    fprintf(o, "<text x=\"%d\" y=\"%d\" class=\"panel\">", (x0 + x1) / 2, PLOT_TOP - 12);
    put_escaped(o, title);
    fputs("</text>\n", o);

    for (i = 0; i < nser; i++) {
        const Log *L = &logs[ser[i].log];
        if (ser[i].panel != p) continue;
        for (r = 0; r < L->nrows; r++) {
            double x = xval(L, r), y = cell(L, r, ser[i].col);
            if (!isfinite(x) || !isfinite(y)) continue;
            if (x < xmin) xmin = x;
            if (x > xmax) xmax = x;
            if (y < ymin) ymin = y;
            if (y > ymax) ymax = y;
            if (x != floor(x)) all_int = 0;
            npts++;
        }
    }
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>\n", x0, y0, x1 - x0, y1 - y0);
    if (npts == 0) {
        fprintf(o, "<text x=\"%d\" y=\"%d\" class=\"empty\">no %s data</text>\n", (x0 + x1) / 2, (y0 + y1) / 2,
                p == 0 ? "loss" : "accuracy");
        return;
    }
    ax = make_axis(xmin, xmax, 8, all_int);
    ay = make_axis(ymin, ymax, 6, 0);
#define SX(x) (x0 + ((x) - ax.lo) / (ax.hi - ax.lo) * (x1 - x0))
#define SY(y) (y1 - ((y) - ay.lo) / (ay.hi - ay.lo) * (y1 - y0))

    /* grid and tick labels; k counts ticks so rounding never drops the last one */
    for (k = 0; (t = ay.lo + k * ay.step) <= ay.hi + ay.step * 1e-6; k++) {
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>\n", x0, SY(t), x1, SY(t));
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">", x0 - 7, SY(t) + 4);
        tick_label(o, &ay, t);
        fputs("</text>\n", o);
    }
    for (k = 0; (t = ax.lo + k * ax.step) <= ax.hi + ax.step * 1e-6; k++) {
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>\n", SX(t), y0, SX(t), y1);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">", SX(t), y1 + 18);
        tick_label(o, &ax, t);
        fputs("</text>\n", o);
    }
    fprintf(o, "<text x=\"%d\" y=\"%d\" class=\"axis\">", (x0 + x1) / 2, y1 + 42);
    put_escaped(o, xlabel);
    fprintf(o, "</text>\n<text transform=\"translate(%d %d) rotate(-90)\" class=\"axis\">", ox + 22, (y0 + y1) / 2);
    put_escaped(o, ylabel);
    fputs("</text>\n", o);

    /* Colour by position within the panel, so that e.g. train_loss and
     * train_accuracy of the same log get the same colour in both panels. */
    for (i = 0; i < nser; i++) {
        const Log *L = &logs[ser[i].log];
        const char *col = palette[shown % NCOLOURS];
        double rad = L->nrows > 80 ? 1.8 : 3.2;   /* small markers for long runs */
        int open = 0, ly;
        char name[256], label[512];
        if (ser[i].panel != p) continue;

        /* one polyline per run of finite points */
        for (r = 0; r <= L->nrows; r++) {
            double x = r < L->nrows ? xval(L, r) : NAN, y = r < L->nrows ? cell(L, r, ser[i].col) : NAN;
            if (isfinite(x) && isfinite(y)) {
                if (!open) fprintf(o, "<polyline class=\"s%s\" stroke=\"%s\" points=\"",
                                   dashed(L->names[ser[i].col]) ? " dash" : "", col);
                fprintf(o, "%s%.1f,%.1f", open ? " " : "", SX(x), SY(y));
                open = 1;
            } else if (open) {
                fputs("\"/>\n", o);
                open = 0;
            }
        }
        for (r = 0; r < L->nrows; r++) {
            double x = xval(L, r), y = cell(L, r, ser[i].col);
            if (isfinite(x) && isfinite(y)) marker(o, ser[i].log, SX(x), SY(y), rad, col);
        }

        /* legend entry below the panel: line sample, marker, "file: column" */
        ly = LEGEND_Y + shown++ * LEGEND_DY;
        fprintf(o, "<polyline class=\"s%s\" stroke=\"%s\" points=\"%d,%d %d,%d\"/>\n",
                dashed(L->names[ser[i].col]) ? " dash" : "", col, x0, ly - 4, x0 + 30, ly - 4);
        marker(o, ser[i].log, x0 + 15, ly - 4, 3.2, col);
        short_name(L->path, name, sizeof name);
        sprintf(label, "%.200s: %.200s", name, L->names[ser[i].col]);
        if (strlen(label) > MAX_LABEL) {   /* cut on a UTF-8 character boundary */
            size_t cut = MAX_LABEL - 3;
            while (cut > 0 && (label[cut] & 0xC0) == 0x80) cut--;
            strcpy(label + cut, "...");
        }
        fprintf(o, "<text x=\"%d\" y=\"%d\" class=\"legend\">", x0 + 40, ly);
        put_escaped(o, label);
        fputs("</text>\n", o);
    }
#undef SX
#undef SY
}

int main(int argc, char **argv)
{
    const char *out_path = "plot.svg", *title = "Training curves", *xlabel;
    char row_label[96], loss_title[96], acc_title[96];
    Log *logs;
    Series *ser;
    int nlogs = 0, nser = 0, i, c, rows[2] = { 0, 0 }, with_epoch = 0, height;
    FILE *o;

    logs = xrealloc(NULL, (size_t)argc * sizeof *logs);
    for (i = 1; i < argc; i++) {   /* the options first: --x decides how the logs are read */
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--title") || !strcmp(argv[i], "--x")) {
            if (i + 1 >= argc) die("%s needs an argument", argv[i]);
            if (argv[i][1] == 'o') out_path = argv[++i];
            else if (argv[i][2] == 't') title = argv[++i];
            else x_name = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: plot [-o out.svg] [--title T] [--x COLUMN] log1.csv [log2.csv ...]\n"
                   "Plots columns named *loss* (left) and *acc* (right) against 'epoch' (or COLUMN).\n");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            die("unknown option '%s' (usage: plot [-o out.svg] [--title T] [--x COLUMN] log.csv ...)", argv[i]);
        }
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--title") || !strcmp(argv[i], "--x")) i++;
        else load_log(&logs[nlogs++], argv[i]);
    }
    if (nlogs == 0) die("no CSV files given (usage: plot [-o out.svg] [--title T] log.csv ...)");

    /* collect the series: loss columns first panel, acc columns second */
    ser = xrealloc(NULL, sizeof *ser);
    for (i = 0; i < nlogs; i++) {
        int found = 0;
        with_epoch += logs[i].xcol >= 0;
        for (c = 0; c < logs[i].ncols; c++) {
            int p = contains_ci(logs[i].names[c], "loss") ? 0 : contains_ci(logs[i].names[c], "acc") ? 1 : -1;
            if (p < 0 || c == logs[i].xcol) continue;
            ser = xrealloc(ser, (size_t)(nser + 1) * sizeof *ser);
            ser[nser].log = i;
            ser[nser].col = c;
            ser[nser].panel = p;
            nser++;
            rows[p]++;
            found = 1;
        }
        if (!found) fprintf(stderr, "plot: warning: '%s' has no column containing \"loss\" or \"acc\"\n", logs[i].path);
    }
    if (nser == 0) die("nothing to plot: no column name contains \"loss\" or \"acc\"");
    snprintf(row_label, sizeof row_label, "%.40s (row number where a log has none)", x_name);
    xlabel = with_epoch == nlogs ? x_name : with_epoch == 0 ? "row" : row_label;
    snprintf(loss_title, sizeof loss_title, "Loss per %.40s", x_name);
    snprintf(acc_title, sizeof acc_title, "Accuracy per %.40s", x_name);

    o = fopen(out_path, "w");
    if (!o) die("cannot write '%s': %s", out_path, strerror(errno));
    height = LEGEND_Y + (rows[0] > rows[1] ? rows[0] : rows[1]) * LEGEND_DY;
    fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
               "<style>\n"
               "text { font-family: Helvetica, Arial, sans-serif; fill: #222; }\n"
               ".title { font-size: 20px; font-weight: bold; text-anchor: middle; }\n"
               ".panel { font-size: 15px; font-weight: bold; text-anchor: middle; }\n"
               ".axis { font-size: 13px; text-anchor: middle; }\n"
               ".xt { font-size: 11px; text-anchor: middle; }\n"
               ".yt { font-size: 11px; text-anchor: end; }\n"
               ".legend { font-size: 12px; }\n"
               ".empty { font-size: 14px; fill: #888; text-anchor: middle; }\n"
               ".frame { fill: none; stroke: #444; stroke-width: 1; }\n"
               ".grid { stroke: #e3e3e3; stroke-width: 1; }\n"
               ".s { fill: none; stroke-width: 1.8; stroke-linejoin: round; }\n"
               ".dash { stroke-dasharray: 6 3; }\n"
               "</style>\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, height, W, height);
    fprintf(o, "<text x=\"%d\" y=\"30\" class=\"title\">", W / 2);
    put_escaped(o, title);
    fputs("</text>\n", o);
    draw_panel(o, 0, loss_title, "loss", xlabel, logs, ser, nser);
    draw_panel(o, 1, acc_title, "accuracy", xlabel, logs, ser, nser);
    fputs("</svg>\n", o);
    if (fclose(o) != 0) die("error writing '%s'", out_path);
    fprintf(stderr, "plot: wrote %s (%d series from %d file%s)\n", out_path, nser, nlogs, nlogs == 1 ? "" : "s");
    for (i = 0; i < nlogs; i++) {
        for (c = 0; c < logs[i].ncols; c++) free(logs[i].names[c]);
        free(logs[i].names);
        free(logs[i].v);
    }
    free(logs);
    free(ser);
    return 0;
}
