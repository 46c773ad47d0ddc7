//! Finishing chart pictures: supersampled RGB buffers averaged down and encoded as PNG, and the
//! text layer appended to plotters' SVG. Rule: plotters draws shapes only; all text comes from
//! `text::TextLayer`, drawn last so labels are never covered.

use super::text::TextLayer;

/// Averages each `factor`×`factor` block of an RGB buffer (supersampling down to the output size).
pub(crate) fn downsample(src: &[u8], size: (u32, u32), factor: u32) -> Vec<u8> {
    match factor {
        0 | 1 => src.to_vec(),
        // The charts' 2× supersampling, with the factor known at compile time: the block sums
        // unroll and the rounding division becomes a shift. Same bytes as the general path; it
        // is most of a PNG chart's time, and the general path's speed swung by ~7 % with nothing
        // but the code placement of unrelated modules (bench charts, 2c606e5).
        2 => average_blocks(src, size, 2),
        f => average_blocks(src, size, f as usize),
    }
}

/// `downsample` for `f` ≥ 2. Always inlined, so that `downsample`'s `f = 2` call is specialized.
#[inline(always)]
fn average_blocks(src: &[u8], (w, h): (u32, u32), f: usize) -> Vec<u8> {
    let (ow, oh) = (w as usize / f, h as usize / f);
    let sw = w as usize;
    let div = (f * f) as u32;
    let mut out = vec![0u8; ow * oh * 3];
    let mut acc = vec![0u32; ow * 3];
    for oy in 0..oh {
        acc.iter_mut().for_each(|a| *a = 0);
        for sy in oy * f..oy * f + f {
            let row = &src[sy * sw * 3..(sy * sw + ow * f) * 3];
            for (ox, block) in row.chunks_exact(3 * f).enumerate() {
                let a = &mut acc[ox * 3..ox * 3 + 3];
                for px in block.chunks_exact(3) {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
            }
        }
        let out_row = &mut out[oy * ow * 3..(oy + 1) * ow * 3];
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = ((a + div / 2) / div) as u8;
        }
    }
    out
}

/// Encodes an RGB8 buffer as PNG.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Puts the text layer into a finished plotters SVG document, just before `</svg>`.
pub(crate) fn finish_svg(mut doc: String, texts: &TextLayer) -> String {
    let mut layer = String::with_capacity(texts.len() * 160);
    texts.write_svg(&mut layer);
    match doc.rfind("</svg>") {
        Some(at) => doc.insert_str(at, &layer),
        None => {
            doc.push_str(&layer);
            doc.push_str("</svg>\n");
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsample_averages_blocks() {
        // 2×2 image, one white pixel among three black ones → one grey pixel.
        let src = [255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(downsample(&src, (2, 2), 2), vec![64, 64, 64]);
    }

    #[test]
    fn factor_two_matches_the_general_path() {
        // 6×4 image of varied bytes: the specialized 2× path and the run-time factor agree.
        let src: Vec<u8> = (0..6 * 4 * 3).map(|i| (i * 37 % 256) as u8).collect();
        let general = average_blocks(&src, (6, 4), std::hint::black_box(2));
        assert_eq!(downsample(&src, (6, 4), 2), general);
        assert_eq!(downsample(&src, (6, 3), 3).len(), 2 * 3);
    }

    #[test]
    fn encodes_png() {
        let png = encode_png(&[10; 4 * 3 * 3], 4, 3).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
