#include <string>

#include "buffer/byte_buffer.h"
#include "tests/test_framework.h"

using lb::buffer::BufferPool;
using lb::buffer::ByteBuffer;

TEST(byte_buffer_takes_block_lazily_and_returns_it) {
  BufferPool pool;
  ByteBuffer buffer;
  buffer.attach_pool(&pool);
  CHECK(!buffer.has_block());
  CHECK_EQ(pool.blocks_in_use(), size_t{0});
  CHECK(buffer.append("hello"));
  CHECK_EQ(pool.blocks_in_use(), size_t{1});
  buffer.consume(5);
  buffer.release_if_empty();
  CHECK(!buffer.has_block());
  CHECK_EQ(pool.blocks_in_use(), size_t{0});
  CHECK_EQ(pool.free_blocks(), size_t{1});
}

TEST(byte_buffer_compacts_to_make_room) {
  BufferPool pool;
  ByteBuffer buffer;
  buffer.attach_pool(&pool);
  std::string big(ByteBuffer::kCapacity - 10, 'a');
  CHECK(buffer.append(big));
  CHECK(!buffer.append(std::string(11, 'b')));
  buffer.consume(100);
  CHECK(buffer.append(std::string(50, 'c')));
  CHECK_EQ(buffer.size(), ByteBuffer::kCapacity - 10 - 100 + 50);
  CHECK_EQ(buffer.view().back(), 'c');
  CHECK_EQ(buffer.view().front(), 'a');
}

TEST(byte_buffer_streams_through_a_larger_pool_until_released) {
  BufferPool small;
  BufferPool large(4, 64 * 1024);
  ByteBuffer buffer;
  buffer.attach_pool(&small);
  CHECK(buffer.append("head"));
  buffer.use_pool(&large);  // ignored: a block is held
  CHECK(buffer.uses_pool(&small));
  buffer.consume(4);
  buffer.release();
  buffer.use_pool(&large);
  CHECK_EQ(buffer.write_space(), size_t{64 * 1024});
  CHECK(buffer.append(std::string(40 * 1024, 'x')));
  CHECK_EQ(large.blocks_in_use(), size_t{1});
  CHECK_EQ(small.blocks_in_use(), size_t{0});
  buffer.consume(40 * 1024);
  buffer.release_if_empty();
  // Back to its own pool and block size.
  CHECK(buffer.uses_pool(&small));
  CHECK_EQ(buffer.write_space(), ByteBuffer::kCapacity);
  CHECK_EQ(large.blocks_in_use(), size_t{0});
  // A switch that was never written to is undone the same way, block and all.
  buffer.use_pool(&large);
  buffer.release_if_empty();
  CHECK(buffer.uses_pool(&small));
  CHECK_EQ(large.blocks_in_use(), size_t{0});
}

// Regression: the stream-block cap (WorkerContext::kMaxStreamBlocks) is checked against
// blocks_in_use() before switching; when the block was only taken at the first write, every
// exchange waiting for its response head passed the check at ~0 and later each held one.
TEST(byte_buffer_use_pool_counts_against_the_cap_before_any_write) {
  BufferPool small;
  BufferPool large(4, 64 * 1024);
  constexpr size_t kCap = 2;
  ByteBuffer buffers[5];
  for (ByteBuffer& buffer : buffers) {
    buffer.attach_pool(&small);
    if (large.blocks_in_use() < kCap) buffer.use_pool(&large);
  }
  CHECK_EQ(large.blocks_in_use(), kCap);
  for (ByteBuffer& buffer : buffers) CHECK(buffer.write_ptr() != nullptr);
  CHECK_EQ(large.blocks_in_use(), kCap);
  CHECK_EQ(small.blocks_in_use(), size_t{3});
  for (ByteBuffer& buffer : buffers) buffer.release();
  CHECK_EQ(large.blocks_in_use(), size_t{0});
  CHECK_EQ(small.blocks_in_use(), size_t{0});
}
