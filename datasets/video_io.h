#pragma once
// Video files through OpenCV: read a clip from any file FFmpeg decodes, write mp4 previews, and draw a
// PNG contact sheet (one row per video, one column per frame).
#include <string>
#include <vector>

#include "datasets/video.h"

namespace vdlab {

struct ReadOptions {
  int frames = 16;        // clip length; 0 = every frame
  int stride = 1;         // take every stride-th frame
  int start = 0;          // first frame index
  int size = 0;           // resize the shorter side to this and centre-crop a square; 0 = keep
};

// Throws IoError naming the file when it cannot be opened or decoded, or has too few frames.
Video read_video(const std::string& path, const ReadOptions& options);
// Number of frames the container reports (may be approximate for some codecs).
int count_frames(const std::string& path);

// H.264 mp4 when the FFmpeg build has it, else MPEG-4 part 2. Written atomically.
void write_video(const Video& video, const std::string& path, double fps = 8.0);
// Rows = videos, columns = frames (at most max_frames, evenly spaced), each frame scaled by `scale`.
// With row_labels (one per video), each row starts with its label written on a white band. Written
// atomically (PNG).
void write_contact_sheet(const std::vector<Video>& videos, const std::string& path, int max_frames = 16,
                         int scale = 2, const std::vector<std::string>& row_labels = {});

// The same, written exactly to `path` (its extension picks the format): for callers that stage several
// files under temp names and commit them together (core/atomic_file.h).
void encode_video(const Video& video, const std::string& path, double fps = 8.0);
void encode_contact_sheet(const std::vector<Video>& videos, const std::string& path, int max_frames = 16,
                          int scale = 2, const std::vector<std::string>& row_labels = {});

}  // namespace vdlab
